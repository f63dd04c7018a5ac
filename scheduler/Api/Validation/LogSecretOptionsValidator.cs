using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>
/// Log options that would copy a container's environment into every log record: its secrets given as
/// variables would then be in the log files, journald or a syslog server, in plain sight. Errors name
/// the option and the secret's field, never the option's value.
/// </summary>
internal static class LogSecretOptionsValidator
{
    /// <summary>The markup Docker documents for tag (docs.docker.com, "Customize log driver output").</summary>
    private static readonly string[] TagMarkup = ["{{.ID}}", "{{.FullID}}", "{{.Name}}", "{{.ImageID}}", "{{.ImageFullID}}", "{{.ImageName}}", "{{.DaemonName}}"];

    /// <param name="options">The container's log options, already known to be options of its driver.</param>
    /// <param name="at">The logConfiguration's field.</param>
    /// <param name="containerAt">The container's field, to name its secrets by.</param>
    public static void Check(Contract.ContainerDefinition container, IDictionary<string, string> options, string at, string containerAt)
    {
        var secretVariables = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < container.Secrets.Count; i++)
        {
            if (!container.Secrets[i].AsFile)
            {
                secretVariables.TryAdd(container.Secrets[i].Name, i);
            }
        }

        if (options.TryGetValue("env", out var env))
        {
            // Docker splits env at commas as it is; trimming here refuses " DB_PASSWORD" too, which is safer.
            foreach (var name in env.Split(','))
            {
                if (secretVariables.TryGetValue(name.Trim(), out var index))
                {
                    throw RequestException.Invalid($"{at}.options[env]", $"names the variable of {containerAt}.secrets[{index}], a secret: every log record would carry its value");
                }
            }
        }

        // The pattern is Go's RE2, which .NET's Regex does not read alike in every case: no secret
        // variable is safely out of its reach, so a container with one lists its variables in env instead.
        if (options.ContainsKey("env-regex") && secretVariables.Count > 0)
        {
            throw RequestException.Invalid($"{at}.options[env-regex]",
                $"cannot be used by a container with secrets as environment variables ({containerAt}.secrets[{secretVariables.Values.Min()}]): it could match them into every log record; name the variables to log in env");
        }

        // tag is a Go template of the container: {{.ContainerEnv}} prints every variable, and other
        // actions reach the rest of the container's configuration; only Docker's documented ones are taken.
        if (options.TryGetValue("tag", out var tag))
        {
            if (!HasOnlyDocumentedMarkup(tag))
            {
                throw RequestException.Invalid($"{at}.options[tag]", $"takes literal text and only this markup: {string.Join(", ", TagMarkup)}");
            }
        }
    }

    /// <summary>
    /// Reads the template as Go's lexer does, left to right: each "{{" opens an action, which must be one
    /// of <see cref="TagMarkup"/> as written there.
    /// </summary>
    private static bool HasOnlyDocumentedMarkup(string tag)
    {
        var at = tag.IndexOf("{{", StringComparison.Ordinal);
        while (at >= 0)
        {
            var markup = TagMarkup.FirstOrDefault(m => string.CompareOrdinal(tag, at, m, 0, m.Length) == 0);
            if (markup is null)
            {
                return false;
            }

            at = tag.IndexOf("{{", at + markup.Length, StringComparison.Ordinal);
        }

        return true;
    }
}
