using System.Globalization;
using System.Text;

namespace Orchestrator.Balancer.Haproxy;

/// <summary>Where the rendered configuration points HAProxy: its admin socket, state file and listening address.</summary>
/// <param name="RunAs">
/// The user and group HAProxy's workers drop to and that owns the admin socket (Debian's "haproxy"), or
/// empty to leave both as HAProxy was started (tests run it as themselves).
/// </param>
internal sealed record RenderSettings(string AdminSocket, string StateFile, string BindAddress, string BalancerName, string RunAs = "");

/// <summary>
/// The one HAProxy configuration the balancer owns, from the groups it serves: a global section with the
/// admin socket and the server state file, defaults that load that state across reloads, and per target
/// group a frontend on its port and a backend of disabled <c>server-template</c> slots that the runtime
/// API fills in. Pure: the same groups give the same text, in the order of the groups' names.
/// </summary>
internal static class HaproxyConfigRenderer
{
    /// <summary>A slot's address until the runtime API gives it a target's (a port is needed so that it can be changed).</summary>
    public const string PlaceholderAddress = "127.0.0.1:1";

    public static string Render(RenderSettings settings, IEnumerable<GroupLayout> groups)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# Written by orchestrator-balancer ({settings.BalancerName}); every change here is overwritten.\n");
        text.Append("global\n");
        if (settings.RunAs.Length > 0)
        {
            // As Debian's own haproxy.cfg: workers do not serve as root; the socket's group lets the balancer in.
            text.Append(CultureInfo.InvariantCulture, $"    user {settings.RunAs}\n");
            text.Append(CultureInfo.InvariantCulture, $"    group {settings.RunAs}\n");
            text.Append(CultureInfo.InvariantCulture, $"    stats socket {settings.AdminSocket} mode 660 group {settings.RunAs} level admin expose-fd listeners\n");
        }
        else
        {
            text.Append(CultureInfo.InvariantCulture, $"    stats socket {settings.AdminSocket} mode 660 level admin expose-fd listeners\n");
        }

        text.Append("    stats timeout 30s\n");
        text.Append(CultureInfo.InvariantCulture, $"    server-state-file {settings.StateFile}\n");
        text.Append('\n');
        text.Append("defaults\n");
        text.Append("    timeout connect 5s\n");
        text.Append("    timeout client 60s\n");
        text.Append("    timeout server 60s\n");
        text.Append("    timeout http-request 10s\n");
        text.Append("    timeout http-keep-alive 10s\n");
        text.Append("    timeout queue 30s\n");
        text.Append("    timeout tunnel 1h\n");
        text.Append("    retries 3\n");
        text.Append("    option redispatch\n");
        text.Append("    load-server-state-from-file global\n");
        foreach (var group in groups.OrderBy(g => g.Name, StringComparer.Ordinal))
        {
            text.Append('\n');
            AppendGroup(text, settings.BindAddress, group);
        }

        return text.ToString();
    }

    private static void AppendGroup(StringBuilder text, string bindAddress, GroupLayout layout)
    {
        var group = layout.Settings;
        var check = group.Check;
        var mode = group.Http ? "http" : "tcp";
        var backend = HaproxyNames.Backend(group.Name);
        text.Append(CultureInfo.InvariantCulture, $"# target group {group.Name}\n");
        text.Append(CultureInfo.InvariantCulture, $"frontend {HaproxyNames.Frontend(group.Name)}\n");
        text.Append(CultureInfo.InvariantCulture, $"    mode {mode}\n");
        text.Append(CultureInfo.InvariantCulture, $"    bind {Endpoint(bindAddress, group.Port)}\n");
        if (group.Http)
        {
            // The client's address reaches the targets (X-Forwarded-For), which a Swarm-style ingress loses.
            text.Append("    option forwardfor\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"    default_backend {backend}\n");
        text.Append('\n');
        text.Append(CultureInfo.InvariantCulture, $"backend {backend}\n");
        text.Append(CultureInfo.InvariantCulture, $"    mode {mode}\n");
        text.Append("    balance roundrobin\n");
        if (check.Http)
        {
            text.Append(CultureInfo.InvariantCulture, $"    option httpchk GET {CheckPath(check.Path)}\n");
            text.Append(CultureInfo.InvariantCulture, $"    {HttpStatusMatcher.ExpectLine(check.Matcher)}\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"    timeout check {check.TimeoutSeconds}s\n");
        text.Append(CultureInfo.InvariantCulture, $"    default-server inter {check.IntervalSeconds}s fall {check.UnhealthyThreshold} rise {check.HealthyThreshold}\n");
        text.Append(CultureInfo.InvariantCulture, $"    server-template {HaproxyNames.SlotPrefix} 1-{layout.Slots} {PlaceholderAddress} check disabled\n");
    }

    /// <summary>"0.0.0.0:80", "[::]:80".</summary>
    public static string Endpoint(string address, int port) =>
        address.Contains(':', StringComparison.Ordinal) ? $"[{address}]:{port}" : $"{address}:{port}";

    /// <summary>The path as one word of HAProxy's configuration: spaces, quotes and control characters percent-encoded.</summary>
    public static string CheckPath(string path)
    {
        var text = string.IsNullOrEmpty(path) ? "/" : path;
        if (text[0] != '/')
        {
            text = "/" + text;
        }

        var safe = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c <= ' ' || c is '"' or '\'' or '\\' or '#' || c >= 0x7f)
            {
                foreach (var b in Encoding.UTF8.GetBytes(c.ToString()))
                {
                    safe.Append(CultureInfo.InvariantCulture, $"%{b:X2}");
                }
            }
            else
            {
                safe.Append(c);
            }
        }

        return safe.ToString();
    }

    /// <summary>How many slots a group gets: at least 8 and twice its targets to start with, doubled each time they run out.</summary>
    public static int SlotsFor(int targets, int current)
    {
        var slots = current > 0 ? current : Math.Max(8, 2 * targets);
        while (slots < targets)
        {
            slots *= 2;
        }

        return slots;
    }
}
