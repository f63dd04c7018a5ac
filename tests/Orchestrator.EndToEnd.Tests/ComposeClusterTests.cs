using Grpc.Net.Client;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>
/// The three-node cluster of deploy/compose, brought up with ./build.sh compose-up as a user would:
/// registration with attributes, binpack and spread across the nodes, a service behind a target group
/// answered through the cluster's HAProxy, and an agent container stopped and started again without any
/// task running twice.
/// </summary>
[NonParallelizable]
internal sealed class ComposeClusterTests
{
    private readonly string _project = $"orche2e{Guid.NewGuid():N}"[..14];
    private readonly int _port = DaemonProcess.FreePort();
    private GrpcChannel _channel = null!;

    private static readonly string[] NodeAddresses = ["127.0.0.21", "127.0.0.22", "127.0.0.23"];

    private string Prefix => _project;
    private TaskService.TaskServiceClient Tasks => new(_channel);

    [OneTimeSetUp]
    public async Task ComposeUp()
    {
        Docker.RequireReady();
        var (code, output) = BuildSh("compose-up");
        Assert.That(code, Is.EqualTo(0), output);
        // compose-up copied the scheduler's CA and admin token out of its volume.
        _channel = SchedulerChannel.ForDaemon(_port, Path.Combine(Repository.Root, "data", "compose", _project));
        await Cluster.EventuallyAsync(async () => (await new NodeService.NodeServiceClient(_channel).ListNodesAsync(new ListNodesRequest())).Nodes.Count(n => n.AgentConnected) == 3,
            "three agents register", () => DockerCli.Run("logs", "--tail", "20", $"{_project}_agent-a_1").Output);
        await new TaskDefinitionService.TaskDefinitionServiceClient(_channel).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
        {
            Family = "web",
            ContainerDefinitions =
            {
                new ContainerDefinition
                {
                    Name = "httpd", Image = Docker.TestImage, Command = { "httpd", "-f", "-p", "80", "-h", "/www" },
                    Cpu = 256, Memory = 256, StopTimeoutSeconds = 2, PortMappings = { new PortMapping { ContainerPort = 80 } },
                },
            },
        });
    }

    [OneTimeTearDown]
    public void ComposeDown()
    {
        _channel?.Dispose();
        BuildSh("compose-down");
    }

    [Test, Order(1)]
    public async Task Three_agents_join_over_mutual_tls_and_register_with_their_zones()
    {
        var nodes = (await new NodeService.NodeServiceClient(_channel).ListNodesAsync(new ListNodesRequest())).Nodes;
        var schedulerLog = Compose("logs", "--no-color", "scheduler").Output;
        foreach (var zone in new[] { "a", "b", "c" })
        {
            Assert.That(schedulerLog, Does.Contain($"Node default/{Prefix}-{zone} joined"), "each agent joined with the join token and got its certificate");
        }

        Assert.That(nodes.Select(n => (n.Name, n.Attributes["zone"], n.AgentConnected, n.Registered.Memory)), Is.EqualTo(new[]
        {
            ($"{Prefix}-a", "a", true, 2048), ($"{Prefix}-b", "b", true, 2048), ($"{Prefix}-c", "c", true, 2048),
        }));
    }

    [Test, Order(2)]
    public async Task Binpack_puts_tasks_on_one_node_and_spread_puts_one_in_each_zone()
    {
        var packed = await Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 3, Group = "packed", PlacementStrategy = { new PlacementStrategy { Type = "binpack", Field = "memory" } } });
        var spread = await Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 3, Group = "spread", PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "attribute:zone" } } });
        var bodies = new List<string>();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        foreach (var task in spread.Tasks)
        {
            var running = await WaitForAsync(task.TaskId, TaskStatus.Running);
            var binding = running.Containers.Single().NetworkBindings.Single();
            bodies.Add((await http.GetStringAsync($"http://{binding.BindIp}:{binding.HostPort}/")).Trim());
        }

        Assert.Multiple(() =>
        {
            Assert.That(packed.Tasks.Select(t => t.Node).Distinct().Count(), Is.EqualTo(1), "binpack fills one node first");
            Assert.That(spread.Tasks.Select(t => t.Node), Is.EquivalentTo(new[] { $"{Prefix}-a", $"{Prefix}-b", $"{Prefix}-c" }));
            Assert.That(bodies, Is.All.EqualTo("hello"));
        });
    }

    [Test, Order(3)]
    public async Task A_service_behind_a_target_group_answers_through_the_compose_haproxy_from_all_three_tasks()
    {
        var port = DaemonProcess.FreePort();
        var groups = new TargetGroupService.TargetGroupServiceClient(_channel);
        await groups.CreateTargetGroupAsync(new CreateTargetGroupRequest
        {
            Name = "lbweb", Protocol = "HTTP", Port = port, DeregistrationDelaySeconds = 0,
            HealthCheck = new TargetGroupHealthCheck { Path = "/", IntervalSeconds = 2, TimeoutSeconds = 1, HealthyThreshold = 2 },
        });
        await new TaskDefinitionService.TaskDefinitionServiceClient(_channel).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
        {
            Family = "lbweb",
            ContainerDefinitions =
            {
                new ContainerDefinition
                {
                    Name = "web", Image = Docker.TestImage, Command = { RollingTarget.Command }, Memory = 32, StopTimeoutSeconds = 2,
                    PortMappings = { new PortMapping { ContainerPort = RollingTarget.ContainerPort } },
                },
            },
        });
        await new ServiceService.ServiceServiceClient(_channel).CreateServiceAsync(new CreateServiceRequest
        {
            ServiceName = "lbweb", TaskDefinition = "lbweb", DesiredCount = 3,
            PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "attribute:zone" } },
            LoadBalancers = { new LoadBalancer { TargetGroup = "lbweb", ContainerName = "web", ContainerPort = RollingTarget.ContainerPort } },
        });
        List<Contracts.V1.Task> running = [];
        await Cluster.EventuallyAsync(async () => (running = [.. (await ServiceTasksAsync("lbweb")).Where(t => t.LastStatus == TaskStatus.Running)]).Count == 3, "three lbweb tasks run");
        var backends = running.Select(t => RollingTarget.BackendOf(t.Containers.Single().RuntimeId)).ToHashSet();

        // Through HAProxy on the host's 127.0.0.1 (the balancer renders the group's frontend there), until
        // every task has answered at least once.
        var answered = new HashSet<string>();
        string last = "";
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromSeconds(2) };
        await Cluster.EventuallyAsync(async () =>
        {
            try
            {
                using var response = await http.GetAsync($"http://127.0.0.1:{port}/");
                var body = (await response.Content.ReadAsStringAsync()).Trim();
                last = $"{(int)response.StatusCode} {body}";
                if (response.IsSuccessStatusCode)
                {
                    answered.Add(body);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }

            return answered.IsSupersetOf(backends);
        }, $"all three tasks answer through 127.0.0.1:{port}",
            () => $"answered by {string.Join(",", answered)} of {string.Join(",", backends)}; last: {last}\n{Compose("logs", "--no-color", "--tail", "15", "balancer", "haproxy").Output}", seconds: 90);

        // HAProxy routes to a target once its own checks pass; the balancer's report of it reaches the scheduler a moment later.
        IReadOnlyList<TargetHealthDescription> health = [];
        await Cluster.EventuallyAsync(async () => (health = (await groups.DescribeTargetHealthAsync(new DescribeTargetHealthRequest { TargetGroup = "lbweb" })).Targets)
            .Count(t => t.Health.State == "HEALTHY") == 3, "the scheduler shows the three targets HEALTHY", () => string.Join(", ", health.Select(t => $"{t.Target.Host} {t.Health.State}")), seconds: 30);
        Assert.Multiple(() =>
        {
            Assert.That(answered, Is.EquivalentTo(backends), "every answer came from one of the service's three containers");
            Assert.That(running.Select(t => t.Node), Is.EquivalentTo(new[] { $"{Prefix}-a", $"{Prefix}-b", $"{Prefix}-c" }));
            Assert.That(health.Select(t => (t.Target.Host, t.Health.State)), Is.EquivalentTo(NodeAddresses.Select(a => (a, "HEALTHY"))),
                "the balancer reports each node's target healthy at the node's own loopback address");
        });
    }

    [Test, Order(4)]
    public async Task A_stopped_agents_service_tasks_move_to_the_others_and_nothing_runs_twice_when_it_is_back()
    {
        var services = new ServiceService.ServiceServiceClient(_channel);
        await services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 3, PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "attribute:zone" } } });
        await Cluster.EventuallyAsync(async () => (await ServiceTasksAsync()).Count(t => t.LastStatus == TaskStatus.Running) == 3, "three service tasks run");
        var onB = (await ServiceTasksAsync()).Single(t => t.Node == $"{Prefix}-b");
        var containerOnB = onB.Containers.Single().RuntimeId;

        Assert.That(Compose("stop", "agent-b").ExitCode, Is.EqualTo(0));
        await Cluster.EventuallyAsync(async () => (await ServiceTasksAsync()).Count(t => t.LastStatus == TaskStatus.Running && t.Node != $"{Prefix}-b") == 3,
            "its task is replaced on the other nodes", () => "", seconds: 90);
        var lost = (await Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { onB.TaskId } })).Tasks.Single();

        Assert.That(Compose("start", "agent-b").ExitCode, Is.EqualTo(0));
        await Cluster.EventuallyAsync(async () => (await Node("b")).AgentConnected, "node b is back");
        await Cluster.EventuallyAsync(() => Task.FromResult(DockerCli.Run("inspect", "--format", "{{.State.Running}}", containerOnB).Output == "false"), "the old copy on b is stopped");

        var running = (await ServiceTasksAsync()).Where(t => t.LastStatus == TaskStatus.Running).ToList();
        var containersPerTask = running.ToDictionary(t => t.TaskId, t => DockerCli.Run("ps", "-q", "--filter", $"label=orchestrator.task-id={t.TaskId}").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var serviceContainers = DockerCli.Run("ps", "-q", "--filter", "label=orchestrator.group=service:web", "--filter", $"label=orchestrator.cluster=default").Output
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(id => DockerCli.Run("inspect", "--format", "{{index .Config.Labels \"orchestrator.node\"}}", id).Output.StartsWith(Prefix, StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That((lost.LastStatus, lost.StopCode), Is.EqualTo((TaskStatus.Stopped, StopCode.NodeLost)));
            Assert.That(running, Has.Count.EqualTo(3));
            Assert.That(containersPerTask.Values, Is.All.EqualTo(1), "every running task has exactly one running container");
            Assert.That(serviceContainers, Is.EqualTo(3), "three running containers of the service in all: no copy twice");
        });
    }

    private async Task<List<Contracts.V1.Task>> ServiceTasksAsync(string service = "web")
    {
        var ids = (await Tasks.ListTasksAsync(new ListTasksRequest { Service = service, DesiredStatus = TaskStatus.Running })).TaskIds;
        return ids.Count == 0 ? [] : [.. (await Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { ids } })).Tasks];
    }

    private async Task<Node> Node(string suffix) =>
        (await new NodeService.NodeServiceClient(_channel).DescribeNodesAsync(new DescribeNodesRequest { Names = { $"{Prefix}-{suffix}" } })).Nodes.Single();

    private async Task<Contracts.V1.Task> WaitForAsync(string taskId, TaskStatus status)
    {
        Contracts.V1.Task? task = null;
        await Cluster.EventuallyAsync(async () => (task = (await Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { taskId } })).Tasks.Single()).LastStatus == status,
            $"task {taskId} is {status}", () => $"it is {task?.LastStatus}: {task?.StoppedReason}");
        return task!;
    }

    private (int ExitCode, string Output) Compose(params string[] arguments) =>
        Repository.Run("docker-compose", ["-f", Path.Combine(Repository.Root, "deploy", "compose", "docker-compose.yml"), "-p", _project, .. arguments], Environment());

    private (int ExitCode, string Output) BuildSh(string command) => Repository.Run(Path.Combine(Repository.Root, "build.sh"), [command], Environment());

    /// <summary>A compose project, port and node names of this run's own, so runs never meet.</summary>
    private Dictionary<string, string> Environment() => new()
    {
        ["COMPOSE_PROJECT"] = _project,
        ["ORCHESTRATOR_PORT"] = _port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["NODE_PREFIX"] = Prefix,
        ["NODE_LOST_GRACE"] = "00:00:05",
        ["BALANCER_DIR"] = Path.Combine(Repository.Root, "data", "compose", _project, "balancer"),
        // Loopback addresses of their own: other clusters on this host publish on 127.0.0.1-3 from the same first port.
        ["NODE_A_ADDRESS"] = NodeAddresses[0],
        ["NODE_B_ADDRESS"] = NodeAddresses[1],
        ["NODE_C_ADDRESS"] = NodeAddresses[2],
    };
}
