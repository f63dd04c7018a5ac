using System.Text.RegularExpressions;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>
/// CreateTargetGroup's request, checked field by field as ELB checks it, into the record to store
/// (defaults filled in, so that the same request made twice makes the same record).
/// </summary>
internal static partial class TargetGroupValidator
{
    public const int MaxNameLength = 32;
    public const int MaxPathLength = 1024;
    public const int MaxMatcherLength = 256;
    public const int MaxDeregistrationDelaySeconds = 3600;

    [GeneratedRegex("^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\\z")]
    private static partial Regex NamePattern();

    /// <summary>The record the request asks for; its creation time is left for the state to set.</summary>
    public static TargetGroupRecord Create(Contract.CreateTargetGroupRequest request)
    {
        var name = Name(request.Name, "name");
        var protocol = Protocol(request.Protocol, "protocol") ?? TargetProtocol.Http;
        if (request.Port is < 1 or > 65535)
        {
            throw RequestException.Invalid("port", $"must be between 1 and 65535, not {request.Port}");
        }

        var healthCheck = HealthCheck(request.HealthCheck, protocol);
        var delay = request.HasDeregistrationDelaySeconds ? request.DeregistrationDelaySeconds : TargetGroupRecord.DefaultDeregistrationDelaySeconds;
        if (delay is < 0 or > MaxDeregistrationDelaySeconds)
        {
            throw RequestException.Invalid("deregistrationDelaySeconds", $"must be between 0 and {MaxDeregistrationDelaySeconds}, not {delay}");
        }

        return new TargetGroupRecord(name, protocol, request.Port, healthCheck, delay, default);
    }

    /// <summary>A target group's name: 1 to 32 letters, digits and hyphens, not starting or ending with a hyphen (ELB's rule).</summary>
    public static string Name(string value, string field)
    {
        if (value.Length == 0)
        {
            throw RequestException.Invalid(field, "target group name is required");
        }

        if (value.Length > MaxNameLength || !NamePattern().IsMatch(value))
        {
            throw RequestException.Invalid(field,
                $"\"{Echo.Clip(value)}\" is not a valid target group name: use 1 to {MaxNameLength} letters, digits and hyphens, not starting or ending with a hyphen");
        }

        return value;
    }

    /// <summary>"HTTP" or "TCP"; empty is null (the caller's default).</summary>
    public static TargetProtocol? Protocol(string value, string field) => value switch
    {
        "" => null,
        "HTTP" => TargetProtocol.Http,
        "TCP" => TargetProtocol.Tcp,
        _ => throw RequestException.Invalid(field, $"must be \"HTTP\" or \"TCP\", not \"{Echo.Clip(value)}\""),
    };

    public static TargetHealthCheck HealthCheck(Contract.TargetGroupHealthCheck? check, TargetProtocol groupProtocol)
    {
        const string Prefix = "healthCheck.";
        var defaults = TargetHealthCheck.Default(groupProtocol);
        if (check is null)
        {
            return defaults;
        }

        var protocol = Protocol(check.Protocol, Prefix + "protocol") ?? groupProtocol;
        string path = defaults.Path, matcher = defaults.Matcher;
        if (protocol == TargetProtocol.Http)
        {
            path = check.Path.Length == 0 ? defaults.Path : Path(check.Path, Prefix + "path");
            matcher = check.Matcher.Length == 0 ? defaults.Matcher : Matcher(check.Matcher, Prefix + "matcher");
        }
        else if (check.Path.Length > 0 || check.Matcher.Length > 0)
        {
            throw RequestException.Invalid(Prefix + (check.Path.Length > 0 ? "path" : "matcher"), "a TCP health check only connects: it takes no path or matcher");
        }

        var interval = Ranged(check.IntervalSeconds, defaults.IntervalSeconds, 1, 300, Prefix + "intervalSeconds");

        // Left out, the timeout is the default, or less when the interval is shorter: it must end before the next check.
        var timeout = check.TimeoutSeconds == 0 ? Math.Min(defaults.TimeoutSeconds, interval - 1) : check.TimeoutSeconds;
        if (timeout is < 1 or > 120)
        {
            throw RequestException.Invalid(Prefix + "timeoutSeconds", check.TimeoutSeconds == 0
                ? $"must be between 1 and 120 and less than healthCheck.intervalSeconds; with an interval of {interval} s no timeout fits"
                : $"must be between 1 and 120, not {timeout}");
        }

        if (timeout >= interval)
        {
            throw RequestException.Invalid(Prefix + "timeoutSeconds", $"must be less than healthCheck.intervalSeconds ({interval}), not {timeout}");
        }

        var healthy = Ranged(check.HealthyThreshold, defaults.HealthyThreshold, 1, 10, Prefix + "healthyThreshold");
        var unhealthy = Ranged(check.UnhealthyThreshold, defaults.UnhealthyThreshold, 1, 10, Prefix + "unhealthyThreshold");
        return new TargetHealthCheck(protocol, path, matcher, interval, timeout, healthy, unhealthy);
    }

    /// <summary>An HTTP check's path: starts with '/', no spaces or control characters, at most 1024 characters.</summary>
    public static string Path(string value, string field)
    {
        if (value.Length > MaxPathLength)
        {
            throw RequestException.Invalid(field, $"must be at most {MaxPathLength} characters, not {value.Length}");
        }

        if (value[0] != '/')
        {
            throw RequestException.Invalid(field, $"must start with \"/\", not \"{Echo.Clip(value)}\"");
        }

        if (value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(value)}\" has a space or a control character: write them percent-encoded");
        }

        return value;
    }

    /// <summary>HTTP status codes a healthy target answers: "200", "200,204" or "200-299", codes 100 to 599.</summary>
    public static string Matcher(string value, string field)
    {
        if (value.Length > MaxMatcherLength)
        {
            throw RequestException.Invalid(field, $"must be at most {MaxMatcherLength} characters, not {value.Length}");
        }

        foreach (var part in value.Split(','))
        {
            var bounds = part.Split('-');
            if (bounds.Length > 2 || !bounds.All(IsCode))
            {
                throw RequestException.Invalid(field,
                    $"\"{Echo.Clip(value)}\" is not a list of HTTP codes: write codes from 100 to 599 as \"200\", \"200,204\" or \"200-299\"");
            }

            if (bounds.Length == 2 && int.Parse(bounds[0], System.Globalization.CultureInfo.InvariantCulture) > int.Parse(bounds[1], System.Globalization.CultureInfo.InvariantCulture))
            {
                throw RequestException.Invalid(field, $"the range \"{Echo.Clip(part)}\" ends before it starts");
            }
        }

        return value;
    }

    private static bool IsCode(string text) =>
        text.Length == 3 && text.All(char.IsAsciiDigit) && int.Parse(text, System.Globalization.CultureInfo.InvariantCulture) is >= 100 and <= 599;

    private static int Ranged(int value, int defaultValue, int min, int max, string field)
    {
        if (value == 0)
        {
            return defaultValue;
        }

        return value >= min && value <= max ? value : throw RequestException.Invalid(field, $"must be between {min} and {max}, not {value}");
    }
}
