using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>Host names (RFC 1123) and IP addresses as a resolver or /etc/hosts reads them.</summary>
internal static partial class HostNames
{
    /// <summary>A whole name, as DNS bounds it.</summary>
    public const int MaxLength = 253;

    /// <summary>The kernel's HOST_NAME_MAX: sethostname refuses a longer one, so the container would not start.</summary>
    public const int MaxContainerHostnameLength = 64;

    // RFC 1123 section 2.1: letters, digits and hyphens, not starting or ending with a hyphen, 1 to 63.
    [GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")]
    private static partial Regex Label();

    // Dotted decimal only: no leading zeros (read as octal by some resolvers), no "127.1" shorthand.
    [GeneratedRegex(@"^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$")]
    private static partial Regex Ipv4();

    [GeneratedRegex("^[0-9A-Fa-f:.]+$")]
    private static partial Regex Ipv6Characters();

    public static bool IsHostname(string value, int maxLength = MaxLength) =>
        value.Length > 0 && value.Length <= maxLength && value.Split('.').All(label => Label().IsMatch(label));

    /// <summary>An IPv4 address in dotted decimal, or an IPv6 address without a zone or brackets.</summary>
    public static bool IsIpAddress(string value)
    {
        if (Ipv4().IsMatch(value))
        {
            return true;
        }

        return value.Contains(':', StringComparison.Ordinal)
            && Ipv6Characters().IsMatch(value)
            && IPAddress.TryParse(value, out var address)
            && address.AddressFamily == AddressFamily.InterNetworkV6;
    }

    /// <summary>How an error says what a host name is.</summary>
    public static string Rule(int maxLength = MaxLength) =>
        $"dot-separated labels of letters, digits and hyphens, each 1 to 63 characters not starting or ending with a hyphen, at most {maxLength} in all";
}
