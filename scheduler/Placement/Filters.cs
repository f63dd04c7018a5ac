using RuntimeSupport = Orchestrator.Contracts.V1.RuntimeSupport;
using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Placement;

/// <summary>
/// What every filter can say about the nodes it turned away: a failed placement is explained by the
/// filters that rejected, each in its own words (as swarmkit's Filter.Explain), never by a table kept
/// elsewhere. A new filter brings its explanation with it.
/// </summary>
internal interface IPlacementFilter
{
    /// <summary>
    /// Words for <paramref name="nodes"/>, all turned away by this filter for <paramref name="reason"/>,
    /// shown after their count: "insufficient memory (needs 512 MiB, best has 256)".
    /// </summary>
    string Explain(RejectReason reason, PlacementWorkspace workspace, IReadOnlyList<int> nodes);
}

/// <summary>
/// A filter that depends only on the node and the request, not on what this call has placed:
/// it runs once per node per call.
/// </summary>
internal interface IStaticFilter : IPlacementFilter
{
    RejectReason Check(NodeSnapshot node);
}

/// <summary>A filter that must be checked again for every task, as placements use the node up.</summary>
internal interface IDynamicFilter : IPlacementFilter
{
    RejectReason Check(PlacementWorkspace workspace, int node);
}

/// <summary>Only ACTIVE nodes whose agent is connected take new tasks.</summary>
internal sealed class NodeAvailabilityFilter : IStaticFilter
{
    public static readonly NodeAvailabilityFilter Instance = new();

    public RejectReason Check(NodeSnapshot node) => node.Status switch
    {
        NodeState.Inactive => RejectReason.Inactive,
        NodeState.Draining => RejectReason.Draining,
        _ when !node.Connected => RejectReason.Disconnected,
        _ => RejectReason.None,
    };

    public string Explain(RejectReason reason, PlacementWorkspace workspace, IReadOnlyList<int> nodes) => reason switch
    {
        RejectReason.Inactive => "inactive",
        RejectReason.Draining => "draining",
        _ => "agent disconnected",
    };
}

internal sealed class MemberOfFilter(MemberOfConstraint constraint) : IStaticFilter
{
    public MemberOfConstraint Constraint { get; } = constraint;

    public RejectReason Check(NodeSnapshot node) =>
        Constraint.Expression.Matches(node) ? RejectReason.None : RejectReason.MemberOf;

    /// <summary>The constraint as the user wrote it, so that two memberOf constraints are told apart.</summary>
    public string Explain(RejectReason reason, PlacementWorkspace workspace, IReadOnlyList<int> nodes) => Constraint.ToString();
}

internal sealed class DistinctInstanceFilter : IDynamicFilter
{
    public static readonly DistinctInstanceFilter Instance = new();

    public RejectReason Check(PlacementWorkspace workspace, int node) =>
        workspace.GroupTasks[node] > 0 ? RejectReason.DistinctInstance : RejectReason.None;

    public string Explain(RejectReason reason, PlacementWorkspace workspace, IReadOnlyList<int> nodes) =>
        $"distinctInstance (already runs a task of group {workspace.Request.Group})";
}

internal sealed class CpuFilter : IDynamicFilter
{
    public static readonly CpuFilter Instance = new();

    public RejectReason Check(PlacementWorkspace workspace, int node) =>
        workspace.RemainingCpu[node] < workspace.Cpu ? RejectReason.Cpu : RejectReason.None;

    /// <summary>What the best of the nodes had, so the user sees how far off the task is.</summary>
    public string Explain(RejectReason reason, PlacementWorkspace workspace, IReadOnlyList<int> nodes) =>
        $"insufficient cpu (needs {workspace.Cpu} units, best has {nodes.Max(n => workspace.RemainingCpu[n])})";
}

internal sealed class MemoryFilter : IDynamicFilter
{
    public static readonly MemoryFilter Instance = new();

    public RejectReason Check(PlacementWorkspace workspace, int node) =>
        workspace.RemainingMemory[node] < workspace.Memory ? RejectReason.Memory : RejectReason.None;

    public string Explain(RejectReason reason, PlacementWorkspace workspace, IReadOnlyList<int> nodes) =>
        $"insufficient memory (needs {workspace.Memory} MiB, best has {nodes.Max(n => workspace.RemainingMemory[n])})";
}

/// <summary>Every static host port free, and room in the dynamic range for the dynamic ones.</summary>
internal sealed class PortFilter : IDynamicFilter
{
    public static readonly PortFilter Instance = new();

    public RejectReason Check(PlacementWorkspace workspace, int node)
    {
        var demand = workspace.Demand;
        foreach (var port in demand.Ports)
        {
            if (port.HostPort != 0 && workspace.IsPortInUse(node, new HostPortKey(port.HostPort, port.Protocol).Key))
            {
                return RejectReason.Ports;
            }
        }

        var dynamic = demand.DynamicPortCount;
        if (dynamic > 0 && workspace.Snapshot.DynamicPorts.Size - workspace.DynamicPortsUsed[node] < dynamic)
        {
            return RejectReason.Ports;
        }

        return RejectReason.None;
    }

    /// <summary>Names the static ports a task asks for; a task with none can only have run out of dynamic ones.</summary>
    public string Explain(RejectReason reason, PlacementWorkspace workspace, IReadOnlyList<int> nodes)
    {
        var fixedPorts = workspace.Demand.Ports.Where(p => p.HostPort != 0).Select(p => $"{p.HostPort}/{(p.Protocol == Protocol.Udp ? "udp" : "tcp")}").ToList();
        return fixedPorts.Count > 0
            ? $"host port in use (needs {string.Join(", ", fixedPorts)})"
            : $"no free dynamic port in {workspace.Snapshot.DynamicPorts}";
    }
}

/// <summary>
/// The node's policy allows what the task needs: privileged containers, and each host volume's path
/// under one of the directories its agent allows (by path segments). Only a task that needs anything
/// of the policy gets this filter; every other placement skips it.
/// </summary>
internal sealed class NodePolicyFilter(TaskPolicyDemand demand) : IStaticFilter
{
    public TaskPolicyDemand Demand { get; } = demand;

    public RejectReason Check(NodeSnapshot node)
    {
        if (Demand.Privileged && !node.Policy.AllowPrivileged)
        {
            return RejectReason.Privileged;
        }

        return Demand.FirstPathOutside(node.Policy) is null ? RejectReason.None : RejectReason.HostPath;
    }

    /// <summary>Names the setting to change, and for host paths the paths the nodes turned away do not allow.</summary>
    public string Explain(RejectReason reason, PlacementWorkspace workspace, IReadOnlyList<int> nodes)
    {
        if (reason == RejectReason.Privileged)
        {
            return "privileged containers are not allowed (Agent:AllowPrivileged)";
        }

        var paths = nodes.Select(n => Demand.FirstPathOutside(workspace.Node(n).Policy)).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return paths.Count == 1
            ? $"host path {Echo.Escape(paths[0])} is outside the node's Agent:AllowedHostPaths"
            : $"host paths {string.Join(", ", paths.Select(Echo.Escape))} are outside the node's Agent:AllowedHostPaths";
    }
}

/// <summary>
/// The implicit constraint of a task with features only Docker runs (awsvpc, links, a journald log...):
/// not on a node whose attribute "runtime" names another runtime. A node without the attribute runs
/// Docker (its agent predates containerd). Only such a task gets this filter; the features were worked
/// out once per definition, so the check per node is one attribute lookup.
/// </summary>
internal sealed class RuntimeFilter(IReadOnlyList<string> dockerOnly) : IStaticFilter
{
    public IReadOnlyList<string> DockerOnly { get; } = dockerOnly;

    public RejectReason Check(NodeSnapshot node) =>
        RuntimeSupport.RunsDocker(node.Attributes) ? RejectReason.None : RejectReason.Runtime;

    /// <summary>Names the runtime and what it cannot run, in the words the agent refuses such a task with.</summary>
    public string Explain(RejectReason reason, PlacementWorkspace workspace, IReadOnlyList<int> nodes)
    {
        var runtimes = nodes.Select(n => workspace.Node(n).Attributes.GetValueOrDefault(RuntimeSupport.RuntimeAttribute) ?? "")
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(Echo.Escape);
        return RuntimeSupport.Explain(string.Join("/", runtimes), DockerOnly);
    }
}
