namespace Orchestrator.Balancer.Haproxy;

/// <summary>How HAProxy checks a group's targets, with the target group's defaults filled in.</summary>
internal sealed record HealthCheckSettings(
    bool Http,
    string Path,
    string Matcher,
    int IntervalSeconds,
    int TimeoutSeconds,
    int HealthyThreshold,
    int UnhealthyThreshold)
{
    public static readonly HealthCheckSettings Default = new(true, "/", "200", 5, 2, 2, 2);
}

/// <summary>One target as the scheduler wants it: where it is (an IP address), its weight, whether it drains.</summary>
internal sealed record DesiredTarget(string Id, string Host, int Port, int Weight, bool Draining)
{
    public string Key => TargetKey.Of(Host, Port);
}

/// <summary>A target group as the scheduler wants it served.</summary>
internal sealed record DesiredGroup(string Name, bool Http, int Port, HealthCheckSettings Check, IReadOnlyList<DesiredTarget> Targets)
{
    /// <summary>What a change of forces a reload: everything but the targets.</summary>
    public GroupSettings Settings => new(Name, Http, Port, Check);
}

/// <summary>The part of a group the rendered configuration holds (targets are changed live).</summary>
internal sealed record GroupSettings(string Name, bool Http, int Port, HealthCheckSettings Check);

/// <summary>A group as rendered: its settings and how many server slots its backend has.</summary>
internal sealed record GroupLayout(GroupSettings Settings, int Slots)
{
    public string Name => Settings.Name;
}

internal static class TargetKey
{
    public static string Of(string host, int port) => $"{host}:{port}";
}
