using Grpc.Core;
using Grpc.Net.Client;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>
/// A real scheduler process and one or more real agent processes on this host's Docker, for one test,
/// secured as users run them: TLS, the API called with the bootstrap admin token, agents that join with
/// the join token and then talk mutual TLS. Agents share the one Docker engine: each has its own node
/// name (the containers' node label keeps them apart), state directory, and loopback address for host
/// ports (127.0.0.1, 127.0.0.2, ...).
/// </summary>
internal sealed class Cluster : IAsyncDisposable
{
    private readonly string _directory;
    private readonly int _port;
    private readonly string[] _schedulerSettings;
    private readonly List<ClusterNode> _nodes = [];
    private DaemonProcess _scheduler;
    private string[] _agentSettings = [];

    private Cluster(string directory, int port, string[] schedulerSettings, DaemonProcess scheduler, GrpcChannel channel)
    {
        _directory = directory;
        _port = port;
        _schedulerSettings = schedulerSettings;
        _scheduler = scheduler;
        Channel = channel;
    }

    public GrpcChannel Channel { get; }
    public IReadOnlyList<ClusterNode> ClusterNodes => _nodes;
    public string Node => _nodes[0].Name;
    public DaemonProcess? Agent => _nodes[0].Process;
    public DaemonProcess Scheduler => _scheduler;
    public string DataDirectory => _directory;
    public int Port => _port;

    /// <summary>The join token the scheduler wrote into its data directory.</summary>
    public string JoinToken => File.ReadAllText(Path.Combine(_directory, "join.token")).Trim();
    public TaskService.TaskServiceClient Tasks => new(Channel);
    public TaskDefinitionService.TaskDefinitionServiceClient TaskDefinitions => new(Channel);
    public NodeService.NodeServiceClient Nodes => new(Channel);
    public ServiceService.ServiceServiceClient Services => new(Channel);

    /// <param name="agents">How many agent processes, each its own node.</param>
    /// <param name="schedulerSettings">Extra scheduler settings, e.g. a short heartbeat timeout.</param>
    public static Task<Cluster> StartAsync(int agents = 1, params string[] schedulerSettings) => StartWithAgentSettingsAsync([], agents, schedulerSettings);

    /// <param name="agentSettings">Settings every agent of the cluster is started with, each time (e.g. Agent:Runtime=containerd and its socket).</param>
    /// <param name="agents">How many agent processes, each its own node.</param>
    /// <param name="schedulerSettings">Extra scheduler settings.</param>
    public static async Task<Cluster> StartWithAgentSettingsAsync(string[] agentSettings, int agents = 1, params string[] schedulerSettings)
    {
        Docker.RequireReady();
        var directory = Directory.CreateTempSubdirectory("orchestrator-e2e-").FullName;
        var port = DaemonProcess.FreePort();
        var scheduler = DaemonProcess.StartScheduler(Path.Combine(directory, "scheduler.db"), port, schedulerSettings);
        var channel = SchedulerChannel.ForDaemon(port, directory);
        if (!await scheduler.WaitUntilServingAsync(channel))
        {
            scheduler.Dispose();
            Assert.Fail("the scheduler did not start: " + string.Join("\n", scheduler.StandardError));
        }

        var cluster = new Cluster(directory, port, schedulerSettings, scheduler, channel) { _agentSettings = agentSettings };
        var prefix = $"e2e-{Guid.NewGuid():N}"[..14];
        try
        {
            for (var i = 0; i < agents; i++)
            {
                cluster._nodes.Add(new ClusterNode($"{prefix}-{i + 1}", $"127.0.0.{i + 1}"));
                await cluster.StartAgentAsync(i);
            }
        }
        catch
        {
            // The test never gets the cluster to dispose: leave no process or container behind.
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    /// <summary>Kills the scheduler with SIGKILL and starts it again on the same port and database.</summary>
    public async Task RestartSchedulerAsync()
    {
        _scheduler.KillHard();
        await StartSchedulerAgainAsync();
    }

    /// <summary>Starts the scheduler again after it was killed, on the same port and database.</summary>
    public async Task StartSchedulerAgainAsync()
    {
        _scheduler.Dispose();
        _scheduler = DaemonProcess.StartScheduler(Path.Combine(_directory, "scheduler.db"), _port, _schedulerSettings);
        if (!await _scheduler.WaitUntilServingAsync(Channel))
        {
            Assert.Fail("the scheduler did not start again: " + string.Join("\n", _scheduler.StandardError));
        }
    }

    /// <summary>Starts the (first) agent again and waits until its node is connected.</summary>
    public Task StartAgentAsync() => StartAgentAsync(0);

    /// <summary>Starts one agent (again) and waits until its node is connected.</summary>
    public async Task StartAgentAsync(int index, params string[] settings)
    {
        StartAgentProcess(index, settings);
        await WaitUntilConnectedAsync(index, connected: true);
    }

    /// <summary>Starts one agent (again), with extra settings, without waiting for anything.</summary>
    public DaemonProcess StartAgentProcess(int index, params string[] settings)
    {
        var node = _nodes[index];
        node.Process?.Dispose();
        return node.Process = DaemonProcess.Start("orchestrator-agent.dll",
        [
            $"--Agent:SchedulerAddress=https://127.0.0.1:{_port}",
            $"--Agent:JoinToken={JoinToken}",
            $"--Agent:StateDirectory={Path.Combine(_directory, node.Name)}",
            // Each agent its own secrets directory, in the test's directory (removed with it).
            $"--Agent:SecretsDirectory={Path.Combine(_directory, node.Name, "secrets")}",
            $"--Agent:NodeName={node.Name}",
            $"--Agent:HostIp={node.HostIp}",
            "--Agent:Attributes=zone=e2e",
            "--Agent:CpuOverride=4096",
            "--Agent:MemoryOverride=4096",
            // Several agents on one host: the default metrics port would collide (a test sets one to use it).
            "--Agent:MetricsListen=",
            .. _agentSettings,
            .. settings,
        ]);
    }

    public Task WaitUntilConnectedAsync(int index, bool connected, int seconds = 60) =>
        EventuallyAsync(async () => (await DescribeNodeAsync(index))?.AgentConnected == connected,
            $"node {_nodes[index].Name} shows {(connected ? "connected" : "disconnected")}",
            () => string.Join("\n", _nodes[index].Process?.StandardOutput.TakeLast(20) ?? []), seconds);

    /// <summary>The node as the API shows it; null until its agent first registers.</summary>
    public async Task<Contracts.V1.Node?> DescribeNodeAsync(int index) =>
        (await Nodes.DescribeNodesAsync(new DescribeNodesRequest { Names = { _nodes[index].Name } })).Nodes.SingleOrDefault();

    public async Task<Contracts.V1.Task> DescribeAsync(string taskId) =>
        (await Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { taskId } })).Tasks.Single();

    public async Task<List<Contracts.V1.Task>> DescribeAllAsync(IEnumerable<string> taskIds)
    {
        var all = new List<Contracts.V1.Task>();
        foreach (var chunk in taskIds.Chunk(100))
        {
            all.AddRange((await Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { chunk } })).Tasks);
        }

        return all;
    }

    /// <summary>The service's tasks whose desired and last status are both RUNNING.</summary>
    public async Task<List<Contracts.V1.Task>> RunningTasksOfAsync(string service)
    {
        var ids = (await Tasks.ListTasksAsync(new ListTasksRequest { Service = service, DesiredStatus = TaskStatus.Running, MaxResults = 1000 })).TaskIds;
        return [.. (await DescribeAllAsync(ids)).Where(t => t.LastStatus == TaskStatus.Running)];
    }

    public async Task<Service> DescribeServiceAsync(string service) =>
        (await Services.DescribeServicesAsync(new DescribeServicesRequest { Services = { service } })).Services.Single();

    /// <summary>
    /// What `docker ps` shows running for this cluster's nodes (of one service, if named): task id →
    /// container ids. A task with two entries runs twice.
    /// </summary>
    public Dictionary<string, List<string>> RunningContainersByTask(string? service = null) =>
        Docker.RunningContainersByTask(_nodes.Select(n => n.Name), service);

    /// <summary>Waits until the task reaches the status, for at most 60 s.</summary>
    public async Task<Contracts.V1.Task> WaitForAsync(string taskId, TaskStatus status)
    {
        Contracts.V1.Task? task = null;
        await EventuallyAsync(async () => (task = await DescribeAsync(taskId)).LastStatus == status, $"task {taskId} is {status}",
            () => $"it is {task?.LastStatus}; agent says:\n" + string.Join("\n", Agent?.StandardOutput.TakeLast(20) ?? []));
        return task!;
    }

    public async Task<string> RegisterAsync(string family, ContainerDefinition container)
    {
        var request = new RegisterTaskDefinitionRequest { Family = family };
        request.ContainerDefinitions.Add(container);
        return (await TaskDefinitions.RegisterTaskDefinitionAsync(request)).TaskDefinition.TaskDefinitionArn;
    }

    public async Task<Contracts.V1.Task> RunAsync(string taskDefinition)
    {
        var run = await Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = taskDefinition });
        Assert.That(run.Failures, Is.Empty, string.Join("; ", run.Failures.Select(f => f.Detail)));
        return run.Tasks.Single();
    }

    public static Task EventuallyAsync(Func<Task<bool>> condition, string what, Func<string>? explain = null, int seconds = 60) =>
        Polling.UntilAsync(condition, what, TimeSpan.FromSeconds(seconds), explain);

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            node.Process?.Dispose();
        }

        _scheduler.Dispose();
        Channel.Dispose();
        foreach (var node in _nodes)
        {
            Docker.RemoveContainersOf(node.Name);
            Docker.RemoveVolumesAndNetworksOf(node.Name);
        }

        Directory.Delete(_directory, recursive: true);
        await Task.CompletedTask;
    }
}

/// <summary>One agent of a test cluster: its node name, its loopback address and its process.</summary>
internal sealed class ClusterNode(string name, string hostIp)
{
    public string Name { get; } = name;
    public string HostIp { get; } = hostIp;
    public DaemonProcess? Process { get; set; }
}
