using Orchestrator.Contracts.V1;
using Orchestrator.EndToEnd.Tests.RuntimeContract;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>
/// Real scheduler and agent processes with the agent on containerd (Agent:Runtime=containerd) over a
/// containerd of the fixture's own, with a bridge and subnet of its own: what a user sees is what it is
/// on Docker, and what only Docker can run is refused at placement naming the runtime.
/// </summary>
[Category("Containerd")]
internal sealed class ContainerdAgentEndToEndTests
{
    private const string Bridge = "orchctre2e";
    private const string Subnet = "10.219.78.0/24";

    private ContainerdProcess _containerd = null!;

    [OneTimeSetUp]
    public async Task OneTimeSetUpAsync()
    {
        Docker.RequireReady();
        _containerd = await ContainerdProcess.StartAsync();
        _containerd.ImportFromDocker();
    }

    [OneTimeTearDown]
    public void OneTimeTearDown()
    {
        _containerd.Dispose();
        ShellCommand.Run("ip", "link", "delete", Bridge);
    }

    private string[] AgentSettings =>
    [
        "--Agent:Runtime=containerd",
        $"--Agent:Containerd:Socket={_containerd.Socket}",
        $"--Agent:Containerd:BridgeName={Bridge}",
        $"--Agent:Containerd:Subnet={Subnet}",
    ];

    private static ContainerDefinition Httpd() => new()
    {
        Name = "web",
        Image = Docker.TestImage,
        Command = { "httpd", "-f", "-p", "80", "-h", "/www" },
        Cpu = 128,
        Memory = 32,
        PortMappings = { new PortMapping { ContainerPort = 80 } },
        StopTimeoutSeconds = 5,
    };

    private static ContainerDefinition Sleeper() => new()
    {
        Name = "main",
        Image = Docker.TestImage,
        Command = { "sleep", "3600" },
        Memory = 16,
        StopTimeoutSeconds = 2,
    };

    /// <summary>The containers containerd holds in our namespace (each test removes its own at the end).</summary>
    private string[] CtrContainers() =>
        _containerd.Ctr("containers", "ls", "-q").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The PID of a container's running task, from `ctr tasks ls` (TASK PID STATUS).</summary>
    private string TaskPid(string id) =>
        _containerd.Ctr("tasks", "ls").Output.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 3 && f[0] == id && f[2] == "RUNNING").Select(f => f[1]).SingleOrDefault() ?? "";

    [Test]
    public async Task An_httpd_task_runs_on_containerd_serves_its_port_on_127_0_0_1_and_stops_with_its_exit_code()
    {
        await using var cluster = await ContainerdCluster.StartAsync(_containerd, AgentSettings);
        var node = await cluster.Cluster.DescribeNodeAsync(0);
        var listed = await cluster.Cluster.Nodes.ListNodesAsync(new ListNodesRequest());
        await cluster.Cluster.RegisterAsync("httpd", Httpd());
        var placed = await cluster.Cluster.RunAsync("httpd");
        var running = await cluster.Cluster.WaitForAsync(placed.TaskId, TaskStatus.Running);
        var binding = running.Containers.Single().NetworkBindings.Single();
        var containerId = running.Containers.Single().RuntimeId;

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var body = await http.GetStringAsync($"http://127.0.0.1:{binding.HostPort}/");
        var inContainerd = CtrContainers();

        await cluster.Cluster.Tasks.StopTaskAsync(new StopTaskRequest { Task = placed.TaskId, Reason = "e2e done" });
        var stopped = await cluster.Cluster.WaitForAsync(placed.TaskId, TaskStatus.Stopped);
        Assert.Multiple(() =>
        {
            Assert.That(node!.Attributes["runtime"], Is.EqualTo("containerd"));
            Assert.That(node.Attributes["runtime-version"], Does.StartWith("1.6"));
            Assert.That(listed.Nodes, Has.Count.EqualTo(1));
            Assert.That(binding.BindIp, Is.EqualTo("127.0.0.1"));
            Assert.That(body.Trim(), Is.EqualTo("hello"));
            Assert.That(inContainerd, Does.Contain(containerId), "the task's container is containerd's");
            Assert.That((stopped.StopCode, stopped.StoppedReason), Is.EqualTo((StopCode.UserInitiated, "e2e done")));
            Assert.That(stopped.Containers.Single().ExitCode, Is.EqualTo(143), "SIGTERM");
        });
    }

    [Test]
    public async Task A_task_whose_health_check_fails_is_replaced_by_its_service()
    {
        await using var cluster = await ContainerdCluster.StartAsync(_containerd, AgentSettings);
        var sick = Sleeper();
        sick.HealthCheck = new HealthCheck { Command = { "CMD-SHELL", "exit 1" }, IntervalSeconds = 5, TimeoutSeconds = 2, Retries = 1 };
        await cluster.Cluster.RegisterAsync("sick", sick);
        await cluster.Cluster.Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "sick", TaskDefinition = "sick", DesiredCount = 1 });

        // ListTasks lists the tasks desired RUNNING (as ECS's): the first one is followed by its id.
        string? firstId = null;
        await Cluster.EventuallyAsync(async () =>
        {
            firstId = (await cluster.Cluster.Tasks.ListTasksAsync(new ListTasksRequest { Service = "sick", MaxResults = 100 })).TaskIds.FirstOrDefault();
            return firstId is not null;
        }, "the service's first task", seconds: 60);
        Contracts.V1.Task? first = null;
        await Cluster.EventuallyAsync(async () =>
        {
            first = (await cluster.Cluster.DescribeAllAsync([firstId!])).Single();
            var ids = (await cluster.Cluster.Tasks.ListTasksAsync(new ListTasksRequest { Service = "sick", MaxResults = 100 })).TaskIds;
            return first.LastStatus == TaskStatus.Stopped && ids.Any(id => id != firstId);
        }, "an unhealthy task is stopped and another takes its place", seconds: 120);
        await cluster.Cluster.Services.DeleteServiceAsync(new DeleteServiceRequest { Service = "sick", Force = true });
        Assert.That(first!.StoppedReason, Does.Contain("health"), $"stopped because: {first.StoppedReason}");
    }

    [Test]
    public async Task A_killed_agent_restarted_adopts_its_running_container_without_restarting_or_duplicating_it()
    {
        await using var cluster = await ContainerdCluster.StartAsync(_containerd, AgentSettings);
        await cluster.Cluster.RegisterAsync("sleeper", Sleeper());
        var placed = await cluster.Cluster.RunAsync("sleeper");
        var stoppedMeanwhile = await cluster.Cluster.RunAsync("sleeper");
        var running = await cluster.Cluster.WaitForAsync(placed.TaskId, TaskStatus.Running);
        var otherId = (await cluster.Cluster.WaitForAsync(stoppedMeanwhile.TaskId, TaskStatus.Running)).Containers.Single().RuntimeId;
        var containerId = running.Containers.Single().RuntimeId;
        var pid = TaskPid(containerId);

        cluster.Cluster.Agent!.KillHard();
        await cluster.Cluster.WaitUntilConnectedAsync(0, connected: false);
        await cluster.Cluster.Tasks.StopTaskAsync(new StopTaskRequest { Task = stoppedMeanwhile.TaskId, Reason = "while the agent was down" });
        await cluster.Cluster.StartAgentAsync(0); // returns once the node shows connected again

        // The task stopped while it was down is stopped by it: the restarted agent has taken over what it
        // found and acted on the desired state, so a wrong restart or a duplicate would have happened by now.
        var stopped = await cluster.Cluster.WaitForAsync(stoppedMeanwhile.TaskId, TaskStatus.Stopped);
        var after = await cluster.Cluster.DescribeAsync(placed.TaskId);
        Assert.Multiple(() =>
        {
            Assert.That(pid, Is.Not.Empty, "the task ran in containerd before the kill");
            Assert.That(stopped.StoppedReason, Is.EqualTo("while the agent was down"));
            Assert.That(after.LastStatus, Is.EqualTo(TaskStatus.Running));
            Assert.That(after.Containers.Single().RuntimeId, Is.EqualTo(containerId), "the same container");
            Assert.That(TaskPid(containerId), Is.EqualTo(pid), "not restarted");
            Assert.That(TaskPid(otherId), Is.Empty, "the task stopped meanwhile no longer runs");
            Assert.That(CtrContainers(), Does.Contain(containerId).And.SubsetOf(new[] { containerId, otherId }), "no duplicate");
        });
    }

    [Test]
    public async Task A_docker_only_task_is_refused_at_placement_with_a_reason_naming_the_runtime()
    {
        await using var cluster = await ContainerdCluster.StartAsync(_containerd, AgentSettings);
        var request = new RegisterTaskDefinitionRequest { Family = "vpc", NetworkMode = "awsvpc", ContainerDefinitions = { Sleeper() } };
        await cluster.Cluster.TaskDefinitions.RegisterTaskDefinitionAsync(request);
        var run = await cluster.Cluster.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "vpc" });
        Assert.Multiple(() =>
        {
            Assert.That(run.Tasks, Is.Empty);
            Assert.That(run.Failures.Single().Reason, Is.EqualTo("CONSTRAINT"));
            Assert.That(run.Failures.Single().Detail, Does.Contain("runtime containerd cannot run networkMode awsvpc"));
            Assert.That(CtrContainers(), Is.Empty);
        });
    }
}

/// <summary>
/// A test cluster whose agents run on a test's containerd. Disposing kills the agents, then removes the
/// containers they made and the leftovers of any they were making, as a restarted agent would (the
/// runtime over the same containerd and data directory: task, snapshot, network namespace and port
/// rules), then the cluster.
/// </summary>
internal sealed class ContainerdCluster : IAsyncDisposable
{
    private readonly ContainerdProcess _containerd;
    private readonly string[] _agentSettings;

    private ContainerdCluster(ContainerdProcess containerd, string[] agentSettings, Cluster cluster)
    {
        _containerd = containerd;
        _agentSettings = agentSettings;
        Cluster = cluster;
    }

    public Cluster Cluster { get; }

    public static async Task<ContainerdCluster> StartAsync(ContainerdProcess containerd, string[] agentSettings) =>
        new(containerd, agentSettings, await Cluster.StartWithAgentSettingsAsync(agentSettings));

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Cluster.ClusterNodes)
        {
            node.Process?.Dispose();
        }

        var bridge = _agentSettings.Single(s => s.StartsWith("--Agent:Containerd:BridgeName=", StringComparison.Ordinal)).Split('=')[1];
        var subnet = _agentSettings.Single(s => s.StartsWith("--Agent:Containerd:Subnet=", StringComparison.Ordinal)).Split('=')[1];
        foreach (var node in Cluster.ClusterNodes)
        {
            var data = Path.Combine(Cluster.DataDirectory, node.Name, "containerd");
            using var composed = ContainerdComposition.Compose(_containerd.Socket, data, bridge, subnet);
            foreach (var container in await composed.Runtime.ListAsync("orchestrator.node", node.Name, CancellationToken.None))
            {
                await composed.Runtime.RemoveAsync(container.Id, CancellationToken.None);
            }

            // What an agent killed mid-create leaves of a container containerd never listed (its orch-*
            // network namespace, port rules, files), as a restarted agent would undo it.
            await composed.Runtime.RemoveLeftoversAsync(CancellationToken.None);
        }

        await Cluster.DisposeAsync();
    }
}
