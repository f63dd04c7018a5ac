using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>Real scheduler and agent processes on this host's real Docker engine.</summary>
internal sealed class AgentEndToEndTests
{
    private static ContainerDefinition Httpd(int memory = 64) => new()
    {
        Name = "web",
        Image = Docker.TestImage,
        Command = { "httpd", "-f", "-p", "80", "-h", "/www" },
        Cpu = 128,
        Memory = memory,
        PortMappings = { new PortMapping { ContainerPort = 80 } },
        StopTimeoutSeconds = 5,
        DockerLabels = { ["team"] = "e2e" },
    };

    [Test]
    public async Task An_httpd_task_runs_serves_http_on_its_port_and_stops_with_its_exit_code()
    {
        await using var cluster = await Cluster.StartAsync();
        await cluster.RegisterAsync("httpd", Httpd());
        var placed = await cluster.RunAsync("httpd");
        var running = await cluster.WaitForAsync(placed.TaskId, TaskStatus.Running);
        var binding = running.Containers.Single().NetworkBindings.Single();
        var containerId = running.Containers.Single().RuntimeId;

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var body = await http.GetStringAsync($"http://127.0.0.1:{binding.HostPort}/");
        var memory = Docker.Inspect(containerId, "{{.HostConfig.Memory}}");
        var labels = Docker.Inspect(containerId, "{{index .Config.Labels \"orchestrator.task-id\"}} {{index .Config.Labels \"orchestrator.node\"}} {{index .Config.Labels \"team\"}}");

        await cluster.Tasks.StopTaskAsync(new StopTaskRequest { Task = placed.TaskId, Reason = "e2e done" });
        var stopped = await cluster.WaitForAsync(placed.TaskId, TaskStatus.Stopped);
        Assert.Multiple(() =>
        {
            Assert.That((binding.BindIp, binding.HostPort), Is.EqualTo(("127.0.0.1", 49153)));
            Assert.That(body.Trim(), Is.EqualTo("hello"));
            Assert.That(memory, Is.EqualTo((64L * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(labels, Is.EqualTo($"{placed.TaskId} {cluster.Node} e2e"));
            Assert.That((stopped.StopCode, stopped.StoppedReason), Is.EqualTo((StopCode.UserInitiated, "e2e done")));
            Assert.That(stopped.Containers.Single().ExitCode, Is.EqualTo(143), "SIGTERM");
        });
    }

    [Test]
    public async Task The_agent_says_at_start_whether_Dockers_live_restore_is_on_and_its_node_shows_it()
    {
        await using var cluster = await Cluster.StartAsync();
        var on = Docker.LiveRestoreEnabled();
        var node = await cluster.DescribeNodeAsync(0);
        var said = string.Join("\n", cluster.Agent!.StandardOutput);
        Assert.Multiple(() =>
        {
            Assert.That(node!.Attributes["docker-live-restore"], Is.EqualTo(on ? "true" : "false"));
            Assert.That(said, Does.Contain(on ? "live-restore is on" : "live-restore is off: a restart of dockerd"));
        });
    }

    [Test]
    public async Task A_container_that_exits_with_3_stops_the_task_with_exit_code_3()
    {
        await using var cluster = await Cluster.StartAsync();
        await cluster.RegisterAsync("exit3", new ContainerDefinition { Name = "main", Image = Docker.TestImage, Command = { "sh", "-c", "sleep 1; exit 3" }, Memory = 16 });
        var placed = await cluster.RunAsync("exit3");
        var stopped = await cluster.WaitForAsync(placed.TaskId, TaskStatus.Stopped);
        Assert.That((stopped.StopCode, stopped.Containers.Single().ExitCode), Is.EqualTo((StopCode.EssentialContainerExited, (int?)3)));
    }

    [Test]
    public async Task A_task_over_its_memory_limit_is_OOMKilled()
    {
        await using var cluster = await Cluster.StartAsync();
        // dd reads 64 MiB into one buffer: four times the 16 MiB limit.
        await cluster.RegisterAsync("hog", new ContainerDefinition { Name = "main", Image = Docker.TestImage, Command = { "sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=4" }, Memory = 16 });
        var placed = await cluster.RunAsync("hog");
        var stopped = await cluster.WaitForAsync(placed.TaskId, TaskStatus.Stopped);
        Assert.Multiple(() =>
        {
            Assert.That(stopped.Containers.Single().Reason, Is.EqualTo("OOMKilled"));
            Assert.That(stopped.Containers.Single().ExitCode, Is.EqualTo(137));
            Assert.That(stopped.StopCode, Is.EqualTo(StopCode.EssentialContainerExited));
        });
    }

    [Test]
    public async Task An_image_that_does_not_exist_fails_to_start_and_leaves_nothing_behind()
    {
        await using var cluster = await Cluster.StartAsync();
        // A registry on a closed loopback port: the pull fails at once and sends nothing off this machine.
        await cluster.RegisterAsync("ghost", new ContainerDefinition { Name = "main", Image = "127.0.0.1:9/orchestrator-test/missing:1", Memory = 16 });
        var placed = await cluster.RunAsync("ghost");
        var stopped = await cluster.WaitForAsync(placed.TaskId, TaskStatus.Stopped);
        Assert.Multiple(() =>
        {
            Assert.That(stopped.StopCode, Is.EqualTo(StopCode.TaskFailedToStart));
            Assert.That(stopped.StoppedReason, Does.StartWith("CannotPullContainerError: "));
            Assert.That(Docker.ContainersOf(cluster.Node), Is.Empty, "nothing in docker ps -a");
        });
    }

    [Test]
    public async Task A_killed_agent_comes_back_to_the_same_containers_and_stops_what_was_stopped_meanwhile()
    {
        await using var cluster = await Cluster.StartAsync();
        await cluster.RegisterAsync("sleeper", new ContainerDefinition { Name = "main", Image = Docker.TestImage, Command = { "sleep", "3600" }, Memory = 16, StopTimeoutSeconds = 2 });
        var tasks = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            tasks.Add((await cluster.RunAsync("sleeper")).TaskId);
        }

        var before = new Dictionary<string, (string Id, string StartedAt)>();
        foreach (var id in tasks)
        {
            var container = (await cluster.WaitForAsync(id, TaskStatus.Running)).Containers.Single().RuntimeId;
            before[id] = (container, Docker.Inspect(container, "{{.State.StartedAt}}"));
        }

        cluster.Agent!.KillHard();
        await Cluster.EventuallyAsync(async () => !(await cluster.Nodes.DescribeNodesAsync(new DescribeNodesRequest { Names = { cluster.Node } })).Nodes[0].AgentConnected, "the node shows disconnected");
        var stoppedMeanwhile = tasks[3];
        await cluster.Tasks.StopTaskAsync(new StopTaskRequest { Task = stoppedMeanwhile, Reason = "while the agent was down" });
        await cluster.StartAgentAsync();

        var stopped = await cluster.WaitForAsync(stoppedMeanwhile, TaskStatus.Stopped);
        var kept = tasks.Take(3).ToList();
        foreach (var id in kept)
        {
            var task = await cluster.DescribeAsync(id);
            Assert.That(task.LastStatus, Is.EqualTo(TaskStatus.Running));
            Assert.That(task.Containers.Single().RuntimeId, Is.EqualTo(before[id].Id), "the same container");
            Assert.That(Docker.Inspect(before[id].Id, "{{.State.Running}} {{.State.StartedAt}} {{.RestartCount}}"), Is.EqualTo($"true {before[id].StartedAt} 0"), "not restarted");
        }

        Assert.Multiple(() =>
        {
            Assert.That(stopped.StoppedReason, Is.EqualTo("while the agent was down"));
            Assert.That(Docker.Inspect(before[stoppedMeanwhile].Id, "{{.State.Running}}"), Is.EqualTo("false"));
            Assert.That(Docker.ContainersOf(cluster.Node), Has.Length.EqualTo(4), "no duplicate container");
        });
    }

    [Test]
    public async Task After_a_scheduler_crash_the_agent_reconnects_on_its_own_and_the_task_runs_on_untouched()
    {
        await using var cluster = await Cluster.StartAsync();
        await cluster.RegisterAsync("sleeper", new ContainerDefinition { Name = "main", Image = Docker.TestImage, Command = { "sleep", "3600" }, Memory = 16, StopTimeoutSeconds = 2 });
        var placed = await cluster.RunAsync("sleeper");
        var container = (await cluster.WaitForAsync(placed.TaskId, TaskStatus.Running)).Containers.Single().RuntimeId;
        var startedAt = Docker.Inspect(container, "{{.State.StartedAt}}");

        await cluster.RestartSchedulerAsync();
        await Cluster.EventuallyAsync(async () => (await cluster.Nodes.DescribeNodesAsync(new DescribeNodesRequest { Names = { cluster.Node } })).Nodes[0].AgentConnected,
            "the agent is back", () => string.Join("\n", cluster.Agent!.StandardOutput.TakeLast(10)));

        var task = await cluster.DescribeAsync(placed.TaskId);
        Assert.Multiple(() =>
        {
            Assert.That(task.LastStatus, Is.EqualTo(TaskStatus.Running));
            Assert.That(task.Containers.Single().RuntimeId, Is.EqualTo(container));
            Assert.That(Docker.Inspect(container, "{{.State.Running}} {{.State.StartedAt}}"), Is.EqualTo($"true {startedAt}"));
            Assert.That(Docker.ContainersOf(cluster.Node), Has.Length.EqualTo(1));
        });
    }
}
