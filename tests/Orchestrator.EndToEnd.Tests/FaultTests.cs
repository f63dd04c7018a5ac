using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>
/// Faults on real scheduler and agent processes and the real Docker engine. Each test states its
/// invariant and checks it twice: from the API and from what `docker ps` shows.
/// </summary>
internal sealed class FaultTests
{
    // Short failure-detection settings so a lost node is declared in seconds, not the default 75 s.
    private static readonly string[] QuickFailureDetection =
    [
        "--Scheduler:HeartbeatInterval=00:00:01",
        "--Scheduler:HeartbeatTimeout=00:00:03",
        "--Scheduler:NodeLostGrace=00:00:05",
    ];

    private static ContainerDefinition Sleeper(string tag = "v1") => new()
    {
        Name = "main",
        Image = Docker.TestImage,
        Command = { "sleep", "3600" },
        Memory = 16,
        StopTimeoutSeconds = 2,
        Environment = { new EnvironmentVariable { Name = "TAG", Value = tag } },
    };

    private static PlacementStrategy SpreadOverNodes => new() { Type = "spread", Field = "instanceId" };

    /// <summary>
    /// The API and Docker agree: the service's RUNNING tasks are exactly the tasks with a running
    /// container, each with one container, and there are as many as desired.
    /// </summary>
    private static async Task AssertOneContainerPerRunningTaskAsync(Cluster cluster, string service, int desired)
    {
        var running = await cluster.RunningTasksOfAsync(service);
        var containers = cluster.RunningContainersByTask(service);
        Assert.Multiple(() =>
        {
            Assert.That(running, Has.Count.EqualTo(desired), "API: as many RUNNING tasks as desired");
            Assert.That(containers.Keys, Is.EquivalentTo(running.Select(t => t.TaskId)), "docker ps: a running container for exactly the RUNNING tasks");
            Assert.That(containers.Where(c => c.Value.Count > 1).Select(c => c.Key), Is.Empty, "docker ps: no task runs twice");
            foreach (var task in running)
            {
                Assert.That(containers.GetValueOrDefault(task.TaskId), Is.EqualTo(new[] { task.Containers.Single().RuntimeId }), $"task {task.TaskId}: the container the API names");
            }
        });
    }

    private static async Task WaitForSteadyServiceAsync(Cluster cluster, string service, int desired, int seconds = 60)
    {
        var seen = "";
        await Cluster.EventuallyAsync(async () =>
        {
            var described = await cluster.DescribeServiceAsync(service);
            var running = await cluster.RunningTasksOfAsync(service);
            var containers = cluster.RunningContainersByTask(service);
            seen = $"deployments: {described.Deployments}; running: {string.Join(", ", running.Select(t => t.TaskId))}; docker: {string.Join(", ", containers.Keys)}; "
                + $"events: {string.Join(" | ", described.Events.Take(5).Select(e => e.Message))}";
            return described.Deployments is [{ RolloutState: "COMPLETED" }] && running.Count == desired && containers.Count == desired;
        }, $"service {service} runs {desired} tasks, deployment completed, and docker agrees", () => seen + "\nagent: " + string.Join("\n", cluster.Agent?.StandardOutput.TakeLast(15) ?? []), seconds);
    }

    private static string RunState(string container) => Docker.Inspect(container, "{{.State.Running}} {{.State.StartedAt}} {{.RestartCount}}");

    [Test]
    public async Task Killing_the_agent_ten_times_restarts_no_container_and_duplicates_nothing()
    {
        // Invariant: an agent crash is invisible to the workload. The same three containers run
        // throughout, started once; the service never starts another task.
        await using var cluster = await Cluster.StartAsync();
        await cluster.RegisterAsync("sleeper", Sleeper());
        await cluster.Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "sleepers", TaskDefinition = "sleeper", DesiredCount = 3 });
        await WaitForSteadyServiceAsync(cluster, "sleepers", 3);
        var before = (await cluster.RunningTasksOfAsync("sleepers")).ToDictionary(t => t.TaskId, t => t.Containers.Single().RuntimeId);
        var runState = before.Values.ToDictionary(c => c, RunState);

        for (var round = 1; round <= 10; round++)
        {
            cluster.Agent!.KillHard();
            await cluster.StartAgentAsync();
            var running = await cluster.RunningTasksOfAsync("sleepers");
            Assert.That(running.ToDictionary(t => t.TaskId, t => t.Containers.Single().RuntimeId), Is.EquivalentTo(before), $"round {round}: the same tasks and containers");
        }

        await AssertOneContainerPerRunningTaskAsync(cluster, "sleepers", 3);
        var service = await cluster.DescribeServiceAsync("sleepers");
        Assert.Multiple(() =>
        {
            Assert.That(before.Values.Select(RunState), Is.EqualTo(before.Values.Select(c => runState[c])), "docker: running, started once, never restarted");
            Assert.That(Docker.ContainersOf(cluster.Node), Has.Length.EqualTo(3), "docker ps -a: no other container was ever created");
            Assert.That((service.DesiredCount, service.RunningCount), Is.EqualTo((3, 3)));
        });
    }

    [Test]
    public async Task A_frozen_agent_past_the_timeout_and_grace_has_its_task_replaced_and_after_it_thaws_one_copy_remains()
    {
        // Invariant: a node that stops answering is shown disconnected with its tasks' status unknown,
        // then its tasks are STOPPED (NodeLost) and run elsewhere; when it comes back, the copy it
        // still ran is stopped, so each service task runs exactly once.
        await using var cluster = await Cluster.StartAsync(2, QuickFailureDetection);
        await cluster.RegisterAsync("sleeper", Sleeper());
        await cluster.Services.CreateServiceAsync(new CreateServiceRequest
        {
            ServiceName = "sleepers", TaskDefinition = "sleeper", DesiredCount = 2, PlacementStrategy = { SpreadOverNodes },
        });
        await WaitForSteadyServiceAsync(cluster, "sleepers", 2);
        var frozenNode = cluster.ClusterNodes[1].Name;
        var lost = (await cluster.RunningTasksOfAsync("sleepers")).Single(t => t.Node == frozenNode);
        var lostContainer = lost.Containers.Single().RuntimeId;

        cluster.ClusterNodes[1].Process!.Freeze();
        await cluster.WaitUntilConnectedAsync(1, connected: false, seconds: 30);
        var unknown = await cluster.DescribeAsync(lost.TaskId);
        await Cluster.EventuallyAsync(async () => (await cluster.DescribeAsync(lost.TaskId)).LastStatus == TaskStatus.Stopped, "the lost task is STOPPED", seconds: 30);
        await Cluster.EventuallyAsync(async () => (await cluster.RunningTasksOfAsync("sleepers")).Count(t => t.Node != frozenNode) == 2, "a replacement runs on the other node");
        var partitioned = cluster.RunningContainersByTask();

        cluster.ClusterNodes[1].Process!.Thaw();
        await cluster.WaitUntilConnectedAsync(1, connected: true, seconds: 30);
        await Cluster.EventuallyAsync(() => Task.FromResult(Docker.Inspect(lostContainer, "{{.State.Running}}") == "false"), "the stale copy is stopped");

        var stopped = await cluster.DescribeAsync(lost.TaskId);
        Assert.Multiple(() =>
        {
            Assert.That((unknown.StatusUnknown, unknown.LastStatus), Is.EqualTo((true, TaskStatus.Running)), "while disconnected: RUNNING, status unknown");
            Assert.That((stopped.StopCode, stopped.LastStatus), Is.EqualTo((StopCode.NodeLost, TaskStatus.Stopped)));
            Assert.That(partitioned.ContainsKey(lost.TaskId), Is.True, "docker: the frozen node's container ran on while it was cut off");
        });

        // Held for a while after the heal, not just at one instant.
        for (var look = 0; look < 5; look++)
        {
            await AssertOneContainerPerRunningTaskAsync(cluster, "sleepers", 2);
            await Task.Delay(400);
        }
    }

    [Test]
    public async Task A_partitioned_node_with_stop_after_stops_its_copy_before_the_replacement_starts_elsewhere()
    {
        // Invariant (disconnect.stopAfterSeconds): when a node is cut off from the scheduler while its
        // agent runs on, the agent stops the task itself, and the scheduler starts the replacement only
        // after that: by Docker's own timestamps the old container has exited before the new one
        // started, and the task never runs twice, during the partition or after it heals.
        await using var cluster = await Cluster.StartAsync(2, QuickFailureDetection);
        await using var network = new PartitionProxy(cluster.Port);
        cluster.ClusterNodes[1].Process!.KillHard(); // started direct; again, through the relay
        await cluster.WaitUntilConnectedAsync(1, connected: false, seconds: 30);
        await cluster.StartAgentAsync(1, $"--Agent:SchedulerAddress=https://127.0.0.1:{network.Port}");
        var request = new RegisterTaskDefinitionRequest { Family = "fenced", ContainerDefinitions = { Sleeper() }, Disconnect = new Disconnect { StopAfterSeconds = 5 } };
        await cluster.TaskDefinitions.RegisterTaskDefinitionAsync(request);
        await cluster.Services.CreateServiceAsync(new CreateServiceRequest
        {
            ServiceName = "fenced", TaskDefinition = "fenced", DesiredCount = 2, PlacementStrategy = { SpreadOverNodes },
        });
        await WaitForSteadyServiceAsync(cluster, "fenced", 2);
        var cutNode = cluster.ClusterNodes[1].Name;
        var before = await cluster.RunningTasksOfAsync("fenced");
        var old = before.Single(t => t.Node == cutNode);
        var stayed = before.Single(t => t.Node != cutNode);
        var oldContainer = old.Containers.Single().RuntimeId;

        network.Cut();
        await cluster.WaitUntilConnectedAsync(1, connected: false, seconds: 30);
        // NodeLostGrace is 5 s here, but this task's grace is 5 + 2 (stop timeout) + 5 s from the last heartbeat.
        await Cluster.EventuallyAsync(async () => (await cluster.RunningTasksOfAsync("fenced")).Count(t => t.Node != cutNode) == 2, "a replacement runs on the other node", seconds: 60);
        var replacement = (await cluster.RunningTasksOfAsync("fenced")).Single(t => t.TaskId != stayed.TaskId);
        var oldExited = DateTimeOffset.Parse(Docker.Inspect(oldContainer, "{{.State.FinishedAt}}"), System.Globalization.CultureInfo.InvariantCulture);
        var newStarted = DateTimeOffset.Parse(Docker.Inspect(replacement.Containers.Single().RuntimeId, "{{.State.StartedAt}}"), System.Globalization.CultureInfo.InvariantCulture);
        var oldRunning = Docker.Inspect(oldContainer, "{{.State.Running}}");
        var duringPartition = cluster.RunningContainersByTask("fenced");
        var agentLog = string.Join("\n", cluster.ClusterNodes[1].Process!.StandardOutput);

        network.Heal();
        await cluster.WaitUntilConnectedAsync(1, connected: true, seconds: 30);
        var lost = await cluster.DescribeAsync(old.TaskId);
        Assert.Multiple(() =>
        {
            Assert.That(oldRunning, Is.EqualTo("false"), "docker: the cut-off copy is stopped");
            Assert.That(oldExited, Is.LessThan(newStarted), "docker: the old container exited before the replacement started");
            Assert.That(duringPartition.ContainsKey(old.TaskId), Is.False, "docker ps during the partition: the old task does not run");
            Assert.That(agentLog, Does.Contain("disconnect.stopAfterSeconds"), "the agent says why it stopped the task");
            Assert.That((lost.LastStatus, lost.StopCode), Is.EqualTo((TaskStatus.Stopped, StopCode.NodeLost)));
        });

        for (var look = 0; look < 5; look++)
        {
            await AssertOneContainerPerRunningTaskAsync(cluster, "fenced", 2);
            await Task.Delay(400);
        }
    }

    [Test]
    public async Task Killing_the_scheduler_during_many_RunTasks_loses_no_acknowledged_task_and_starts_none_twice()
    {
        // Invariant: a task acknowledged before the crash exists after it; retrying with the same client
        // token returns the same tasks; every client token starts its tasks once, in the API and in Docker.
        const int Calls = 20;
        const int PerCall = 2;
        await using var cluster = await Cluster.StartAsync();
        await cluster.RegisterAsync("sleeper", Sleeper());
        var acknowledged = new System.Collections.Concurrent.ConcurrentDictionary<string, string[]>();
        var killed = new TaskCompletionSource();
        var next = -1;

        async Task CallerAsync()
        {
            while (Interlocked.Increment(ref next) is var i && i < Calls)
            {
                var token = $"token-{i}";
                try
                {
                    var reply = await cluster.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "sleeper", Count = PerCall, ClientToken = token });
                    acknowledged[token] = [.. reply.Tasks.Select(t => t.TaskId)];
                    // At least, not exactly: two callers can be acknowledged between one look and the next.
                    if (acknowledged.Count >= Calls / 3 && killed.TrySetResult())
                    {
                        cluster.Scheduler.KillHard();
                    }
                }
                catch (RpcException)
                {
                    // Not acknowledged: retried below with the same token.
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(CallerAsync)));
        Assert.That(killed.Task.IsCompleted, Is.True, "the scheduler was killed in the middle of the calls");
        var acknowledgedBeforeCrash = acknowledged.ToDictionary(p => p.Key, p => p.Value);
        await cluster.StartSchedulerAgainAsync();
        await cluster.WaitUntilConnectedAsync(0, connected: true);

        var afterRetry = new Dictionary<string, string[]>();
        for (var i = 0; i < Calls; i++)
        {
            var token = $"token-{i}";
            var reply = await cluster.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "sleeper", Count = PerCall, ClientToken = token });
            Assert.That(reply.Failures, Is.Empty, $"{token}: placed");
            afterRetry[token] = [.. reply.Tasks.Select(t => t.TaskId)];
        }

        var all = afterRetry.Values.SelectMany(ids => ids).ToList();
        await Cluster.EventuallyAsync(async () => (await cluster.DescribeAllAsync(all)).All(t => t.LastStatus == TaskStatus.Running), "every task runs", seconds: 90);
        var listed = (await cluster.Tasks.ListTasksAsync(new ListTasksRequest { MaxResults = 1000, IncludeAllStatuses = true })).TaskIds;
        var containers = cluster.RunningContainersByTask();
        Assert.Multiple(() =>
        {
            Assert.That(acknowledgedBeforeCrash, Is.Not.Empty);
            foreach (var (token, ids) in acknowledgedBeforeCrash)
            {
                Assert.That(afterRetry[token], Is.EqualTo(ids), $"{token}: acknowledged before the crash, the same tasks after it");
            }

            Assert.That(all, Is.Unique.And.Count.EqualTo(Calls * PerCall));
            Assert.That(listed, Is.EquivalentTo(all), "API: no task beyond the ones the tokens name");
            Assert.That(containers.Keys, Is.EquivalentTo(all), "docker ps: a container for every task and no other");
            Assert.That(containers.Values.Where(c => c.Count > 1), Is.Empty, "docker ps: nothing runs twice");
        });
    }

    [Test]
    public async Task Killing_the_scheduler_during_a_rolling_deployment_lets_the_deployment_complete_with_nothing_twice()
    {
        // Invariant: a deployment survives a scheduler crash. After the restart it completes on the new
        // revision, the old revision's containers are all stopped, and each task runs once.
        await using var cluster = await Cluster.StartAsync(2);
        await cluster.RegisterAsync("sleeper", Sleeper("v1"));
        await cluster.RegisterAsync("sleeper", Sleeper("v2"));
        await cluster.Services.CreateServiceAsync(new CreateServiceRequest
        {
            ServiceName = "sleepers", TaskDefinition = "sleeper:1", DesiredCount = 4, PlacementStrategy = { SpreadOverNodes },
            // One extra task at a time, so the rollout takes several steps.
            DeploymentConfiguration = new DeploymentConfiguration { MinimumHealthyPercent = 100, MaximumPercent = 125 },
        });
        await WaitForSteadyServiceAsync(cluster, "sleepers", 4);

        await cluster.Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "sleepers", TaskDefinition = "sleeper:2" });
        await Cluster.EventuallyAsync(async () => (await cluster.RunningTasksOfAsync("sleepers")).Any(t => t.TaskDefinitionArn == "sleeper:2"), "the first new task runs");
        var midway = await cluster.DescribeServiceAsync("sleepers");
        cluster.Scheduler.KillHard();
        await cluster.StartSchedulerAgainAsync();

        await WaitForSteadyServiceAsync(cluster, "sleepers", 4, seconds: 90);
        var service = await cluster.DescribeServiceAsync("sleepers");
        var running = await cluster.RunningTasksOfAsync("sleepers");
        Assert.Multiple(() =>
        {
            Assert.That(midway.Deployments.Select(d => (d.TaskDefinition, d.RolloutState)), Is.EqualTo(new[] { ("sleeper:2", "IN_PROGRESS"), ("sleeper:1", "COMPLETED") }),
                "killed mid-deployment: the new revision rolling out, the old one still there");
            Assert.That(service.Deployments.Single().TaskDefinition, Is.EqualTo("sleeper:2"));
            Assert.That(running.Select(t => t.TaskDefinitionArn), Is.All.EqualTo("sleeper:2"));
        });
        await AssertOneContainerPerRunningTaskAsync(cluster, "sleepers", 4);
    }

    [Test]
    public async Task A_container_killed_behind_the_agents_back_is_replaced_within_the_service_backoff()
    {
        // Invariant: docker kill is reported with its exit code, and the service places a new task once
        // the restart backoff it announced is over (plus one pass of the 1 s service loop).
        await using var cluster = await Cluster.StartAsync();
        await cluster.RegisterAsync("sleeper", Sleeper());
        await cluster.Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "sleepers", TaskDefinition = "sleeper", DesiredCount = 2 });
        await WaitForSteadyServiceAsync(cluster, "sleepers", 2);
        var before = await cluster.RunningTasksOfAsync("sleepers");
        var victim = before[0];

        Docker.Run("kill", victim.Containers.Single().RuntimeId);
        await Cluster.EventuallyAsync(async () => (await cluster.DescribeAsync(victim.TaskId)).LastStatus == TaskStatus.Stopped, "the killed task is STOPPED");
        await WaitForSteadyServiceAsync(cluster, "sleepers", 2);
        var killed = await cluster.DescribeAsync(victim.TaskId);
        var replacement = (await cluster.RunningTasksOfAsync("sleepers")).Single(t => before.All(b => b.TaskId != t.TaskId));
        var announced = (await cluster.DescribeServiceAsync("sleepers")).Events
            .Select(e => System.Text.RegularExpressions.Regex.Match(e.Message, @"next start in (\d+) s")).Single(m => m.Success);
        var backoff = TimeSpan.FromSeconds(int.Parse(announced.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Multiple(() =>
        {
            Assert.That((killed.StopCode, killed.Containers.Single().ExitCode), Is.EqualTo((StopCode.EssentialContainerExited, (int?)137)));
            Assert.That(backoff, Is.EqualTo(TimeSpan.FromSeconds(1)), "a first failure backs off 1 s");
            // The scheduler's own timestamps; 2 s to spare for a loaded machine.
            Assert.That(replacement.CreatedAt.ToDateTime() - killed.StoppedAt.ToDateTime(), Is.LessThan(backoff + TimeSpan.FromSeconds(3)),
                "placed within the backoff and one service pass");
        });
        await AssertOneContainerPerRunningTaskAsync(cluster, "sleepers", 2);
    }

    [Test]
    [NonParallelizable]
    public async Task After_the_Docker_engine_restarts_under_a_running_agent_the_API_shows_what_Docker_runs()
    {
        // Invariant: the agent notices the engine went away and came back and reports what survived.
        // Without live-restore (Docker's default) containers stop with the engine: the standalone task
        // is STOPPED with its exit code and the service replaces its tasks. With live-restore they run
        // on untouched. Either way the API's RUNNING tasks are exactly docker ps's running containers.
        await using var cluster = await Cluster.StartAsync();
        await cluster.RegisterAsync("sleeper", Sleeper());
        await cluster.Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "sleepers", TaskDefinition = "sleeper", DesiredCount = 2 });
        var loner = await cluster.RunAsync("sleeper");
        await cluster.WaitForAsync(loner.TaskId, TaskStatus.Running);
        await WaitForSteadyServiceAsync(cluster, "sleepers", 2);
        var serviceTasks = (await cluster.RunningTasksOfAsync("sleepers")).Select(t => t.TaskId).ToList();
        var survives = Docker.LiveRestoreEnabled();

        Docker.RestartEngine();

        var lonerAfter = survives ? await cluster.WaitForAsync(loner.TaskId, TaskStatus.Running) : await cluster.WaitForAsync(loner.TaskId, TaskStatus.Stopped);
        await WaitForSteadyServiceAsync(cluster, "sleepers", 2, seconds: 90);
        var running = await cluster.RunningTasksOfAsync("sleepers");
        var node = await cluster.DescribeNodeAsync(0);
        var nodeTasks = await cluster.DescribeAllAsync((await cluster.Tasks.ListTasksAsync(new ListTasksRequest { Node = cluster.Node, MaxResults = 1000, IncludeAllStatuses = true })).TaskIds);
        Assert.Multiple(() =>
        {
            Assert.That(node!.AgentConnected, Is.True);
            if (survives)
            {
                Assert.That(running.Select(t => t.TaskId), Is.EquivalentTo(serviceTasks), "live-restore: the same tasks run on");
            }
            else
            {
                Assert.That((lonerAfter.StopCode, lonerAfter.Containers.Single().HasExitCode), Is.EqualTo((StopCode.EssentialContainerExited, true)),
                    "the standalone task stopped with its container, exit code reported");
                Assert.That(running.Select(t => t.TaskId), Has.None.AnyOf(serviceTasks), "the service replaced the tasks the engine took down");
            }

            Assert.That(cluster.RunningContainersByTask().Keys,
                Is.EquivalentTo(nodeTasks.Where(t => t.LastStatus == TaskStatus.Running).Select(t => t.TaskId)),
                "docker ps runs exactly the tasks the API shows RUNNING");
        });
        await AssertOneContainerPerRunningTaskAsync(cluster, "sleepers", 2);
    }
}
