using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>
/// Three schedulers on a 3-member etcd (<see cref="HaSchedulers"/>, a 4 s lease) and real agents on this
/// host's Docker that are given every scheduler's address and find the leader themselves, for one test.
/// </summary>
internal sealed class HaCluster : IAsyncDisposable
{
    private readonly string _directory;
    private readonly List<ClusterNode> _nodes = [];

    private HaCluster(HaSchedulers schedulers, string directory)
    {
        Schedulers = schedulers;
        _directory = directory;
    }

    public HaSchedulers Schedulers { get; }

    public EtcdCluster Etcd => Schedulers.Etcd;

    public IReadOnlyList<ClusterNode> Nodes => _nodes;

    /// <summary>Clients through the failover invoker: the scheduler that answers, the next on UNAVAILABLE.</summary>
    public TaskService.TaskServiceClient Tasks => new(Schedulers.Failover);

    public ServiceService.ServiceServiceClient Services => new(Schedulers.Failover);

    public TaskDefinitionService.TaskDefinitionServiceClient TaskDefinitions => new(Schedulers.Failover);

    public static Task<HaCluster> StartAsync(int agents = 1, params string[] schedulerSettings) => StartAsync(agents, TimeSpan.FromSeconds(4), schedulerSettings);

    /// <param name="agents">How many agent processes, each its own node.</param>
    /// <param name="leaseTtl">Scheduler:Etcd:LeaseTtl.</param>
    /// <param name="schedulerSettings">Extra settings for every scheduler.</param>
    public static async Task<HaCluster> StartAsync(int agents, TimeSpan leaseTtl, params string[] schedulerSettings)
    {
        Docker.RequireReady();
        var schedulers = await HaSchedulers.StartAsync(3, etcd: null, leaseTtl: leaseTtl, schedulerSettings);
        var cluster = new HaCluster(schedulers, Directory.CreateTempSubdirectory("orchestrator-ha-agents-").FullName);
        var prefix = $"ha-{Guid.NewGuid():N}"[..13];
        try
        {
            for (var i = 0; i < agents; i++)
            {
                cluster._nodes.Add(new ClusterNode($"{prefix}-{i + 1}", $"127.0.0.{i + 1}"));
                cluster.StartAgentProcess(i);
            }

            for (var i = 0; i < agents; i++)
            {
                await cluster.WaitUntilConnectedAsync(i);
            }
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    /// <summary>Starts one agent (again), given every scheduler's address, without waiting.</summary>
    public DaemonProcess StartAgentProcess(int index, params string[] settings)
    {
        var node = _nodes[index];
        node.Process?.Dispose();
        return node.Process = DaemonProcess.Start("orchestrator-agent.dll",
        [
            $"--Agent:SchedulerAddress={Schedulers.Addresses}",
            $"--Agent:JoinToken={Schedulers.JoinToken}",
            $"--Agent:StateDirectory={Path.Combine(_directory, node.Name)}",
            $"--Agent:SecretsDirectory={Path.Combine(_directory, node.Name, "secrets")}",
            $"--Agent:NodeName={node.Name}",
            $"--Agent:HostIp={node.HostIp}",
            "--Agent:CpuOverride=4096",
            "--Agent:MemoryOverride=4096",
            "--Agent:MetricsListen=",
            .. settings,
        ]);
    }

    public Task WaitUntilConnectedAsync(int index, int seconds = 60) =>
        Polling.UntilAsync(async () =>
            (await new NodeService.NodeServiceClient(Schedulers.Failover).DescribeNodesAsync(new DescribeNodesRequest { Names = { _nodes[index].Name } })).Nodes
                .SingleOrDefault()?.AgentConnected == true,
            $"node {_nodes[index].Name} shows connected", TimeSpan.FromSeconds(seconds),
            () => string.Join("\n", _nodes[index].Process?.StandardOutput.TakeLast(20) ?? []) + "\n" + Schedulers.Describe());

    /// <summary>What `docker ps` shows running for this cluster's nodes (of one service, if named): task id → container ids.</summary>
    public Dictionary<string, List<string>> RunningContainersByTask(string? service = null) =>
        Docker.RunningContainersByTask(_nodes.Select(n => n.Name), service);

    public async Task<List<Contracts.V1.Task>> DescribeAllAsync(IEnumerable<string> taskIds, CallInvoker? through = null)
    {
        var client = new TaskService.TaskServiceClient(through ?? Schedulers.Failover);
        var all = new List<Contracts.V1.Task>();
        foreach (var chunk in taskIds.Chunk(100))
        {
            all.AddRange((await client.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { chunk } })).Tasks);
        }

        return all;
    }

    public async Task<string> RegisterAsync(string family, ContainerDefinition container)
    {
        var request = new RegisterTaskDefinitionRequest { Family = family };
        request.ContainerDefinitions.Add(container);
        return (await TaskDefinitions.RegisterTaskDefinitionAsync(request)).TaskDefinition.TaskDefinitionArn;
    }

    public async ValueTask DisposeAsync()
    {
        // What each scheduler said last: where a test failed, the why is usually here.
        await TestContext.Out.WriteLineAsync(Schedulers.Describe(60));
        foreach (var node in _nodes)
        {
            node.Process?.Dispose();
        }

        Schedulers.Dispose();
        foreach (var node in _nodes)
        {
            Docker.RemoveContainersOf(node.Name);
            Docker.RemoveVolumesAndNetworksOf(node.Name);
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left behind in /tmp: harmless.
        }

        await Task.CompletedTask;
    }
}
