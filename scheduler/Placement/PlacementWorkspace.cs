using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Placement;

/// <summary>
/// The mutable scratch copy of a snapshot that one <see cref="PlacementEngine.Place"/> call works on:
/// as tasks are placed, their resources are taken here, never in the snapshot. Struct-of-arrays so
/// that the per-node scan stays in cache.
/// </summary>
internal sealed class PlacementWorkspace
{
    private readonly HashSet<int>?[] _ownPorts;

    public PlacementWorkspace(ClusterSnapshot snapshot, PlacementRequest request)
    {
        Snapshot = snapshot;
        Request = request;
        var n = snapshot.Nodes.Count;
        RemainingCpu = new int[n];
        RemainingMemory = new int[n];
        GroupTasks = new int[n];
        DynamicPortsUsed = new int[n];
        _ownPorts = new HashSet<int>?[n];
        for (var i = 0; i < n; i++)
        {
            var node = snapshot.Nodes[i];
            RemainingCpu[i] = node.RemainingCpu;
            RemainingMemory[i] = node.RemainingMemory;
            GroupTasks[i] = node.TasksByGroup.GetValueOrDefault(request.Group);
        }

        if (request.Demand.DynamicPortCount > 0)
        {
            for (var i = 0; i < n; i++)
            {
                DynamicPortsUsed[i] = CountInRange(snapshot.Nodes[i].PortsInUse, snapshot.DynamicPorts);
            }
        }
    }

    public ClusterSnapshot Snapshot { get; }
    public PlacementRequest Request { get; }
    public TaskResourceDemand Demand => Request.Demand;
    public int NodeCount => RemainingCpu.Length;
    public int[] RemainingCpu { get; }
    public int[] RemainingMemory { get; }

    /// <summary>Tasks of the request's group on each node, including those placed in this call.</summary>
    public int[] GroupTasks { get; }

    /// <summary>Host ports in use inside the dynamic range, tcp and udp together (a safe upper bound).</summary>
    public int[] DynamicPortsUsed { get; }

    public NodeSnapshot Node(int index) => Snapshot.Nodes[index];

    public bool IsPortInUse(int node, int portKey) =>
        (_ownPorts[node] ?? Snapshot.Nodes[node].PortsInUse).Contains(portKey);

    /// <summary>Takes the task's resources on the node and hands out its host ports.</summary>
    public IReadOnlyList<int> Take(int node)
    {
        var demand = Demand;
        RemainingCpu[node] -= demand.Cpu;
        RemainingMemory[node] -= demand.Memory;
        GroupTasks[node]++;
        if (demand.Ports.Count == 0)
        {
            return [];
        }

        var ports = _ownPorts[node] ??= new HashSet<int>(Snapshot.Nodes[node].PortsInUse);
        var range = Snapshot.DynamicPorts;
        var hostPorts = new int[demand.Ports.Count];
        // Static ports first, so a dynamic pick never takes a port the task itself names.
        for (var i = 0; i < hostPorts.Length; i++)
        {
            var request = demand.Ports[i];
            if (request.HostPort != 0)
            {
                hostPorts[i] = request.HostPort;
                MarkUsed(node, ports, new HostPortKey(request.HostPort, request.Protocol), range);
            }
        }

        for (var i = 0; i < hostPorts.Length; i++)
        {
            var request = demand.Ports[i];
            if (request.HostPort == 0)
            {
                var port = range.First;
                while (ports.Contains(new HostPortKey(port, request.Protocol).Key))
                {
                    port++;
                }

                hostPorts[i] = port;
                MarkUsed(node, ports, new HostPortKey(port, request.Protocol), range);
            }
        }

        return hostPorts;
    }

    private void MarkUsed(int node, HashSet<int> ports, HostPortKey key, PortRange range)
    {
        if (ports.Add(key.Key) && range.Contains(key.Port))
        {
            DynamicPortsUsed[node]++;
        }
    }

    private static int CountInRange(IReadOnlySet<int> ports, PortRange range)
    {
        var count = 0;
        foreach (var key in ports)
        {
            if (range.Contains(HostPortKey.FromKey(key).Port))
            {
                count++;
            }
        }

        return count;
    }
}
