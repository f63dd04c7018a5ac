using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// Services against simulated agents and a fake clock: the reconcile pass runs once per (fake) second,
/// within the clock's Advance, so a test knows a pass has run without waiting for it.
/// </summary>
internal sealed class ServiceTests : SchedulerTest
{
    private ServiceService.ServiceServiceClient Services => new(Host.Channel);

    private Task<Service> DescribeServiceAsync(string name = "web") =>
        Services.DescribeServicesAsync(new DescribeServicesRequest { Services = { name } }).ResponseAsync.ContinueWith(t => t.Result.Services.Single());

    /// <summary>
    /// Runs reconcile passes, one per fake second; after each, the agents given (running automatically)
    /// have answered what it sent them and their answers are applied, before the next pass. Their
    /// heartbeats keep their nodes alive as they go.
    /// </summary>
    private async Task PassesAsync(int count, params SimulatedAgent[] settling)
    {
        for (var i = 0; i < count; i++)
        {
            Host.Clock.Advance(TimeSpan.FromSeconds(1));
            foreach (var agent in settling)
            {
                await agent.SettleAsync();
            }
        }
    }

    private async Task<List<Contracts.V1.Task>> LiveTasksAsync()
    {
        var ids = (await Host.Tasks.ListTasksAsync(new ListTasksRequest { Service = "web", DesiredStatus = TaskStatus.Running })).TaskIds;
        return ids.Count == 0 ? [] : [.. (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { ids } })).Tasks];
    }

    [Test]
    public async Task A_service_runs_its_desired_count_and_reaches_a_steady_state()
    {
        await RegisterAsync();
        await using var a = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        await using var b = await SimulatedAgent.ConnectAsync(Host.Agents, "b");
        a.RunAutomatically();
        b.RunAutomatically();
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 3, PlacementStrategy = { new PlacementStrategy { Type = "spread" } } });
        await EventuallyAsync(async () => (await DescribeServiceAsync()).RunningCount == 3, "three tasks run");
        await PassesAsync(2);

        var service = await DescribeServiceAsync();
        var tasks = await LiveTasksAsync();
        Assert.Multiple(() =>
        {
            Assert.That((service.DesiredCount, service.RunningCount, service.PendingCount), Is.EqualTo((3, 3, 0)));
            Assert.That(service.Deployments.Single().RolloutState, Is.EqualTo("COMPLETED"));
            Assert.That(service.Events[0].Message, Is.EqualTo("service web has reached a steady state"));
            Assert.That(tasks.Select(t => t.Group).Distinct(), Is.EqualTo(new[] { "service:web" }));
            Assert.That(tasks.GroupBy(t => t.Node).Select(g => g.Count()).Order(), Is.EqualTo(new[] { 1, 2 }), "spread over the two nodes");
        });
    }

    [Test]
    public async Task A_task_that_stops_is_replaced_after_the_backoff()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 1 });
        var first = (await agent.NextCommandAsync()).StartTask.TaskId;
        await agent.ReportAsync(first, TaskStatus.Running);
        await agent.ReportAsync(first, TaskStatus.Stopped, exitCode: 1, stopCode: StopCode.EssentialContainerExited, reason: "Essential container in task exited");

        await PassesAsync(1);
        var waiting = (await agent.HeartbeatAsync()).Where(m => m.BodyCase == SchedulerMessage.BodyOneofCase.StartTask).ToList();
        await PassesAsync(2);
        var replacement = (await agent.NextCommandAsync()).StartTask.TaskId;
        var service = await DescribeServiceAsync();
        Assert.Multiple(() =>
        {
            Assert.That(waiting, Is.Empty, "no restart within the backoff");
            Assert.That(replacement, Is.Not.EqualTo(first));
            Assert.That(service.Deployments[0].FailedTasks, Is.EqualTo(1));
            Assert.That(service.Events.Select(e => e.Message), Has.Some.StartsWith("service web: 1 task(s) stopped (Essential container in task exited); next start in 1 s"));
        });
    }

    [Test]
    public async Task Scaling_up_and_down_starts_and_stops_tasks()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        agent.RunAutomatically();
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 1 });
        await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 4 });
        await EventuallyAsync(async () => (await DescribeServiceAsync()).RunningCount == 4, "four run");
        var moved = (await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 2, PlacementStrategy = { new PlacementStrategy { Type = "binpack", Field = "memory" } } })).Service;
        await EventuallyAsync(async () => (await LiveTasksAsync()).Count == 2 && (await DescribeServiceAsync()).RunningCount == 2, "two run");
        Assert.That(moved.PlacementStrategy.Single().Type, Is.EqualTo("binpack"), "placement is updated too");
        var stopped = (await Host.Tasks.ListTasksAsync(new ListTasksRequest { Service = "web", DesiredStatus = TaskStatus.Stopped })).TaskIds;
        var stoppedTasks = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { stopped } })).Tasks;
        Assert.That(stoppedTasks.Select(t => (t.StopCode, t.StoppedReason)), Is.All.EqualTo((StopCode.ServiceSchedulerInitiated, "Service scaled in")));
    }

    [Test]
    public async Task A_rolling_update_never_breaks_min_healthy_or_max_running_and_completes()
    {
        await RegisterAsync();
        await RegisterAsync(WebDefinition(memory: 256));
        await using var a = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        await using var b = await SimulatedAgent.ConnectAsync(Host.Agents, "b");
        a.RunAutomatically();
        b.RunAutomatically();
        var configuration = new DeploymentConfiguration { MinimumHealthyPercent = 50, MaximumPercent = 150 };
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web:1", DesiredCount = 4, DeploymentConfiguration = configuration });
        await EventuallyAsync(async () => (await DescribeServiceAsync()).RunningCount == 4, "four run");
        await PassesAsync(1, a, b);

        // Follow every task change from here on and check the invariant after each one.
        using var watch = Host.Tasks.WatchTasks(new WatchTasksRequest { Service = "web", IncludeExisting = true });
        var state = new Dictionary<string, Contracts.V1.Task>();
        var violations = new List<string>();
        var reader = Task.Run(async () =>
        {
            await foreach (var change in watch.ResponseStream.ReadAllAsync())
            {
                state[change.Task.TaskId] = change.Task;
                var running = state.Values.Count(t => t.LastStatus == TaskStatus.Running);
                var live = state.Values.Count(t => t.LastStatus != TaskStatus.Stopped);
                if (!change.Existing && running < 2)
                {
                    violations.Add($"only {running} running after a change of {change.Task.TaskId}");
                }

                if (live > 6)
                {
                    violations.Add($"{live} live tasks, above 150%");
                }
            }
        });

        await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", TaskDefinition = "web:2" });
        for (var i = 0; i < 30 && (await DescribeServiceAsync()).Deployments[0].RolloutState != "COMPLETED"; i++)
        {
            await PassesAsync(1, a, b);
        }

        var service = await DescribeServiceAsync();
        var tasks = await LiveTasksAsync();
        watch.Dispose();
        await reader.ContinueWith(_ => { });
        Assert.Multiple(() =>
        {
            Assert.That(service.Deployments.Single().RolloutState, Is.EqualTo("COMPLETED"));
            Assert.That(tasks.Select(t => t.TaskDefinitionArn), Is.EqualTo(Enumerable.Repeat("web:2", 4)));
            Assert.That(violations, Is.Empty);
        });
    }

    [TestCase(true, TestName = "A failing deployment trips the circuit breaker and rolls back")]
    [TestCase(false, TestName = "A failing deployment trips the circuit breaker and holds without rollback")]
    public async Task Circuit_breaker(bool rollback)
    {
        await RegisterAsync();
        await RegisterAsync(WebDefinition(memory: 256));
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        agent.RunAutomatically(failToStart: start => start.TaskDefinition.TaskDefinitionArn == "web:2");
        var breaker = new DeploymentConfiguration { DeploymentCircuitBreaker = new DeploymentCircuitBreaker { Enable = true, Rollback = rollback } };
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web:1", DesiredCount = 2, DeploymentConfiguration = breaker });
        await EventuallyAsync(async () => (await DescribeServiceAsync()).RunningCount == 2, "two run");
        await PassesAsync(1, agent);

        await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", TaskDefinition = "web:2" });
        for (var i = 0; i < 40 && (await DescribeServiceAsync()).Deployments.All(d => d.RolloutState == "IN_PROGRESS"); i++)
        {
            await PassesAsync(1, agent);
        }

        for (var i = 0; i < 10; i++)
        {
            await PassesAsync(1, agent);
        }

        var service = await DescribeServiceAsync();
        var tasks = await LiveTasksAsync();
        Assert.Multiple(() =>
        {
            Assert.That(service.Events.Select(e => e.Message), Has.Some.Matches("deployment .* failed: circuit breaker: [34] tasks failed \\(threshold 3\\)"));
            Assert.That(tasks.Select(t => t.TaskDefinitionArn), Is.EqualTo(Enumerable.Repeat("web:1", 2)), "the old tasks keep serving");
            if (rollback)
            {
                Assert.That((service.Deployments[0].TaskDefinition, service.Deployments[0].RolloutState), Is.EqualTo(("web:1", "COMPLETED")));
                Assert.That(service.Events.Select(e => e.Message), Has.Some.Contains("rolling back to web:1"));
            }
            else
            {
                var failed = service.Deployments[0];
                Assert.That((failed.TaskDefinition, failed.RolloutState), Is.EqualTo(("web:2", "FAILED")));
                Assert.That(failed.FailedTasks, Is.InRange(3, 4), "the threshold, half of 2 but at least 3, reached by tasks failing two at a time");
            }
        });
    }

    [Test]
    public async Task A_service_and_its_deployments_survive_a_scheduler_restart_without_new_tasks()
    {
        await RegisterAsync();
        var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        agent.RunAutomatically();
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 2 });
        await EventuallyAsync(async () => (await DescribeServiceAsync()).RunningCount == 2, "two run");
        await PassesAsync(1);
        var before = (await LiveTasksAsync()).Select(t => t.TaskId).Order().ToList();
        await agent.DisposeAsync();

        RestartScheduler();
        await using var back = await SimulatedAgent.ConnectAsync(Host.Agents, "a", running: before.Select(id => SimulatedAgent.Report(id, TaskStatus.Running)));
        back.RunAutomatically();
        await PassesAsync(3);
        var service = await DescribeServiceAsync();
        Assert.Multiple(async () =>
        {
            Assert.That((service.DesiredCount, service.RunningCount, service.Deployments.Single().RolloutState), Is.EqualTo((2, 2, "COMPLETED")));
            Assert.That((await LiveTasksAsync()).Select(t => t.TaskId).Order(), Is.EqualTo(before), "the same tasks, none added");
        });
    }

    [Test]
    public async Task A_daemon_service_runs_one_task_per_matching_node_follows_joins_and_leaves_draining_nodes()
    {
        await RegisterAsync();
        await using var a = await SimulatedAgent.ConnectAsync(Host.Agents, "a", attributes: new Dictionary<string, string> { ["role"] = "edge" });
        await using var b = await SimulatedAgent.ConnectAsync(Host.Agents, "b", attributes: new Dictionary<string, string> { ["role"] = "edge" });
        await using var other = await SimulatedAgent.ConnectAsync(Host.Agents, "db", attributes: new Dictionary<string, string> { ["role"] = "db" });
        a.RunAutomatically();
        b.RunAutomatically();
        other.RunAutomatically();
        await Services.CreateServiceAsync(new CreateServiceRequest
        {
            ServiceName = "web", TaskDefinition = "web", SchedulingStrategy = "DAEMON",
            PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = "attribute:role == edge" } },
        });
        await EventuallyAsync(async () => (await LiveTasksAsync()).Count(t => t.LastStatus == TaskStatus.Running) == 2, "one task on each edge node");
        var first = (await LiveTasksAsync()).Select(t => t.Node).Order().ToList();

        await using var late = await SimulatedAgent.ConnectAsync(Host.Agents, "c", attributes: new Dictionary<string, string> { ["role"] = "edge" });
        late.RunAutomatically();
        await PassesAsync(1, late);
        await EventuallyAsync(async () => (await LiveTasksAsync()).Count(t => t.LastStatus == TaskStatus.Running) == 3, "the node that joined gets one");

        await Host.Nodes.UpdateNodeStatusAsync(new UpdateNodeStatusRequest { Name = "a", Status = NodeStatus.Draining });
        await PassesAsync(1, a);
        await EventuallyAsync(async () => (await LiveTasksAsync()).Select(t => t.Node).Order().SequenceEqual(["b", "c"]), "the draining node's task goes");
        var service = await DescribeServiceAsync();
        Assert.Multiple(() =>
        {
            Assert.That(first, Is.EqualTo(new[] { "a", "b" }), "not on the db node");
            Assert.That((service.SchedulingStrategy, service.DesiredCount), Is.EqualTo(("DAEMON", 2)));
        });
    }

    [Test]
    public async Task A_node_that_disappears_has_its_service_tasks_replaced_and_is_told_to_stop_them_when_back()
    {
        await RegisterAsync();
        await using var a = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        var b = await SimulatedAgent.ConnectAsync(Host.Agents, "b");
        a.RunAutomatically();
        b.RunAutomatically();
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 2, PlacementStrategy = { new PlacementStrategy { Type = "spread" } } });
        await EventuallyAsync(async () => (await DescribeServiceAsync()).RunningCount == 2, "two run");
        var onB = (await LiveTasksAsync()).Single(t => t.Node == "b").TaskId;
        await b.DisposeAsync();
        await EventuallyAsync(async () => !(await NodeAsync("b")).AgentConnected, "b is disconnected");

        await PassesAsync(30, a);
        var withinGrace = await DescribeAsync(onB);
        await PassesAsync(35, a);
        await EventuallyAsync(async () => (await LiveTasksAsync()).Count(t => t.Node == "a" && t.LastStatus == TaskStatus.Running) == 2, "the replacement runs on a");
        var lost = await DescribeAsync(onB);

        await using var back = await SimulatedAgent.ConnectAsync(Host.Agents, "b", running: [SimulatedAgent.Report(onB, TaskStatus.Running)]);
        Assert.Multiple(() =>
        {
            Assert.That(withinGrace.LastStatus, Is.EqualTo(TaskStatus.Running), "within the 60 s grace it is left alone");
            Assert.That((lost.LastStatus, lost.StopCode), Is.EqualTo((TaskStatus.Stopped, StopCode.NodeLost)));
            Assert.That(back.Registered.StopTasks.Select(s => s.TaskId), Is.EqualTo(new[] { onB }), "the old copy is stopped: nothing runs twice");
            Assert.That(back.Registered.StartTasks, Is.Empty);
        });
    }

    [Test]
    public async Task A_service_waits_for_capacity_and_says_why_then_places_when_a_node_joins()
    {
        await RegisterAsync();
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 2 });
        var waiting = await DescribeServiceAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "late");
        await PassesAsync(1);
        var starts = new[] { await agent.NextCommandAsync(), await agent.NextCommandAsync() };
        Assert.Multiple(() =>
        {
            Assert.That(waiting.Events[0].Message, Is.EqualTo("service web is unable to place 2 tasks (NO_ACTIVE_NODES): no nodes are registered in the cluster"));
            Assert.That(starts.Select(s => s.BodyCase), Is.All.EqualTo(SchedulerMessage.BodyOneofCase.StartTask));
        });
    }

    [Test]
    public async Task Deleting_needs_force_while_tasks_are_wanted_and_then_stops_them()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        agent.RunAutomatically();
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 2 });
        await EventuallyAsync(async () => (await DescribeServiceAsync()).RunningCount == 2, "two run");
        var refused = Refused(() => Services.DeleteServiceAsync(new DeleteServiceRequest { Service = "web" }).ResponseAsync);
        var deleting = (await Services.DeleteServiceAsync(new DeleteServiceRequest { Service = "web", Force = true })).Service;
        await EventuallyAsync(async () => (await LiveTasksAsync()).Count == 0, "its tasks stop");
        await PassesAsync(2);
        var gone = await Services.DescribeServicesAsync(new DescribeServicesRequest { Services = { "web" } });
        Assert.Multiple(() =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
            Assert.That(deleting.Status, Is.EqualTo("DRAINING"));
            Assert.That(gone.Failures.Single().Reason, Is.EqualTo("MISSING"));
        });
    }

    [TestCase("{\"serviceName\": \"\", \"taskDefinition\": \"web\"}", StatusCode.InvalidArgument, "serviceName: service name is required")]
    [TestCase("{\"serviceName\": \"web\", \"taskDefinition\": \"nope\"}", StatusCode.NotFound, "taskDefinition: task definition family \"nope\" does not exist")]
    [TestCase("{\"serviceName\": \"web\", \"taskDefinition\": \"web\", \"desiredCount\": -1}", StatusCode.InvalidArgument, "desiredCount: must be between 0 and 10000, not -1")]
    [TestCase("{\"serviceName\": \"web\", \"taskDefinition\": \"web\", \"deploymentConfiguration\": {\"maximumPercent\": 300}}", StatusCode.InvalidArgument, "deploymentConfiguration.maximumPercent: must be between 100 and 200, not 300")]
    [TestCase("{\"serviceName\": \"web\", \"taskDefinition\": \"web\", \"deploymentConfiguration\": {\"minimumHealthyPercent\": 101}}", StatusCode.InvalidArgument, "deploymentConfiguration.minimumHealthyPercent: must be between 0 and 100, not 101")]
    [TestCase("{\"serviceName\": \"web\", \"taskDefinition\": \"web\", \"deploymentConfiguration\": {\"maximumPercent\": 100}}", StatusCode.InvalidArgument, "deploymentConfiguration: minimumHealthyPercent 100 with maximumPercent 100 leaves no room to replace a task")]
    [TestCase("{\"serviceName\": \"web\", \"taskDefinition\": \"web\", \"schedulingStrategy\": \"DAEMON\", \"desiredCount\": 2}", StatusCode.InvalidArgument, "desiredCount: a DAEMON service runs one task on every node; leave desiredCount out")]
    [TestCase("{\"serviceName\": \"web\", \"taskDefinition\": \"web\", \"schedulingStrategy\": \"SOMETIMES\"}", StatusCode.InvalidArgument, "schedulingStrategy: must be \"REPLICA\" or \"DAEMON\", not \"SOMETIMES\"")]
    [TestCase("{\"serviceName\": \"taken\", \"taskDefinition\": \"web\"}", StatusCode.AlreadyExists, "serviceName: service \"taken\" already exists in cluster \"default\"")]
    public async Task Bad_service_requests_are_refused_naming_the_field(string json, StatusCode code, string detail)
    {
        await RegisterAsync();
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "taken", TaskDefinition = "web" });
        var request = Google.Protobuf.JsonParser.Default.Parse<CreateServiceRequest>(json);
        var error = Refused(() => Services.CreateServiceAsync(request).ResponseAsync);
        Assert.That((error.StatusCode, error.Status.Detail), Is.EqualTo((code, detail)));
    }
}
