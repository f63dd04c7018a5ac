using System.Globalization;
using System.Text.RegularExpressions;

namespace Orchestrator.Balancer.Apply;

/// <summary>The ports the balancer's own configuration file binds: HAProxy holds them, so they are not checked as "in use".</summary>
internal static partial class ConfiguredPorts
{
    public static IReadOnlySet<int> In(string? config)
    {
        var ports = new HashSet<int>();
        if (config is null)
        {
            return ports;
        }

        foreach (Match match in BindLine().Matches(config))
        {
            ports.Add(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
        }

        return ports;
    }

    [GeneratedRegex(@"^\s*bind\s+\S*:(\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex BindLine();
}
