using System.Collections.Frozen;
using System.Globalization;
using System.Text.RegularExpressions;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>
/// A container's logConfiguration. Docker refuses an option its driver does not know only when the
/// container is created; checking here refuses a typo (max_size for max-size, which would leave the log
/// uncapped on another driver's spelling) at registration instead of at every start.
/// </summary>
internal static partial class LogConfigurationValidator
{
    /// <summary>Each driver's options, as Docker 20.10 (engine API 1.41) validates them.</summary>
    private static readonly FrozenDictionary<string, string[]> DriverOptions = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["json-file"] = ["max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag"],
        ["local"] = ["max-size", "max-file", "compress"],
        ["journald"] = ["tag", "labels", "labels-regex", "env", "env-regex"],
        ["syslog"] = ["syslog-address", "syslog-facility", "syslog-format", "syslog-tls-ca-cert", "syslog-tls-cert", "syslog-tls-key", "syslog-tls-skip-verify", "tag", "labels", "labels-regex", "env", "env-regex"],
        ["none"] = [],
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Options Docker itself takes for every driver: how a container's writes wait on the driver.</summary>
    private static readonly string[] DockerOptions = ["mode", "max-buffer-size"];

    // go-units' human size, as Docker reads max-size: "10m", "1g", "500k", "1.5MB", "2 GiB".
    [GeneratedRegex("^(?<number>[0-9]+(\\.[0-9]+)?) ?(?<unit>[kKmMgGtTpP])?[iI]?[bB]?$")]
    private static partial Regex SizePattern();

    // Go's strconv.ParseBool.
    private static readonly FrozenSet<string> GoBooleans = new[] { "1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False" }.ToFrozenSet(StringComparer.Ordinal);

    /// <param name="container">The container whose logConfiguration this is: its secrets bound what the options may log.</param>
    /// <param name="containerAt">The container's field, containerDefinitions[i].</param>
    public static void Check(Contract.ContainerDefinition container, string containerAt)
    {
        var configuration = container.LogConfiguration;
        var at = $"{containerAt}.logConfiguration";
        if (configuration is null)
        {
            return;
        }

        var driver = configuration.LogDriver;
        var options = configuration.Options;
        if (driver.Length == 0)
        {
            if (options.Count > 0)
            {
                throw RequestException.Invalid($"{at}.options", "need a logDriver: without one the node's default driver applies, with the node's size cap");
            }

            return;
        }

        if (!DriverOptions.TryGetValue(driver, out var known))
        {
            throw RequestException.Invalid($"{at}.logDriver", $"must be \"json-file\", \"local\", \"journald\", \"syslog\" or \"none\", not \"{Echo.Clip(driver)}\"");
        }

        if (driver == "none" && options.Count > 0)
        {
            throw RequestException.Invalid($"{at}.options", "the \"none\" log driver keeps no logs and takes no options");
        }

        if (options.Count > Limits.MaxLogOptions)
        {
            throw RequestException.Invalid($"{at}.options", $"at most {Limits.MaxLogOptions} allowed, got {options.Count}");
        }

        foreach (var (key, value) in options)
        {
            var field = $"{at}.options[{Echo.Clip(key)}]";
            if (!known.Contains(key) && !DockerOptions.Contains(key))
            {
                throw RequestException.Invalid(field, $"is not an option of the {driver} log driver: use {string.Join(", ", known.Concat(DockerOptions))}");
            }

            OptionValues.Check(value, field);
            CheckValue(key, value, field);
        }

        CheckCombination(driver, options, at);
        LogSecretOptionsValidator.Check(container, options, at, containerAt);
    }

    private static void CheckValue(string key, string value, string field)
    {
        switch (key)
        {
            case "max-size" or "max-buffer-size" when !IsPositiveSize(value):
                throw RequestException.Invalid(field, $"\"{Echo.Clip(value)}\" is not a size: a positive number and an optional unit k, m or g (e.g. 10m, 1g, 500k)");
            case "max-file" when !IsPositiveInteger(value):
                throw RequestException.Invalid(field, $"\"{Echo.Clip(value)}\" is not a positive whole number of files");
            case "compress" when !GoBooleans.Contains(value):
                throw RequestException.Invalid(field, $"must be \"true\" or \"false\", not \"{Echo.Clip(value)}\"");
            case "mode" when value is not ("blocking" or "non-blocking"):
                throw RequestException.Invalid(field, $"must be \"blocking\" or \"non-blocking\", not \"{Echo.Clip(value)}\"");
        }
    }

    /// <summary>What Docker refuses of the options together, when it creates the container.</summary>
    private static void CheckCombination(string driver, IDictionary<string, string> options, string at)
    {
        var maxFiles = options.TryGetValue("max-file", out var files) ? int.Parse(files, CultureInfo.InvariantCulture) : (int?)null;
        var compress = options.TryGetValue("compress", out var flag) ? IsTrue(flag) : (bool?)null;
        var mode = options.TryGetValue("mode", out var given) ? given : "blocking";
        if (options.ContainsKey("max-buffer-size") && mode != "non-blocking")
        {
            throw RequestException.Invalid($"{at}.options[max-buffer-size]", "applies only with mode \"non-blocking\"");
        }

        // json-file rotates only with max-size, and compresses only files it rotated away.
        if (driver == "json-file" && compress == true && (maxFiles is null or < 2 || !options.ContainsKey("max-size")))
        {
            throw RequestException.Invalid($"{at}.options[compress]", "json-file compresses rotated files only: it needs max-size and a max-file of 2 or more");
        }

        // local compresses by default, and a single file has nothing rotated to compress.
        if (driver == "local" && maxFiles == 1 && compress != false)
        {
            throw RequestException.Invalid($"{at}.options[max-file]", "the local driver compresses rotated files by default and 1 file leaves none: set compress to \"false\" or max-file to 2 or more");
        }
    }

    private static bool IsTrue(string value) => value is "1" or "t" or "T" or "TRUE" or "true" or "True";

    private static bool IsPositiveInteger(string value) =>
        value.Length > 0 && value[0] != '0' && value.All(char.IsAsciiDigit) && int.TryParse(value, CultureInfo.InvariantCulture, out _);

    /// <summary>A size go-units reads as at least one byte and no more than a long holds.</summary>
    private static bool IsPositiveSize(string value)
    {
        var match = SizePattern().Match(value);
        if (!match.Success)
        {
            return false;
        }

        var number = double.Parse(match.Groups["number"].Value, CultureInfo.InvariantCulture);
        var unit = match.Groups["unit"].Success ? "kmgtp".IndexOf(char.ToLowerInvariant(match.Groups["unit"].Value[0]), StringComparison.Ordinal) + 1 : 0;
        var bytes = number * Math.Pow(1000, unit);
        return bytes >= 1 && bytes < long.MaxValue;
    }
}
