using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.LoadBalancing;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// Draining before stop and deployments gated on the balancers, against simulated agents, a fake clock
/// and a fake book of the balancers' verdicts: a task of a service behind a target group is asked to stop
/// with its stop held (DEACTIVATING) until the group's deregistration delay is over or the balancers
/// report it drained; no stop reaches its agent before.
/// </summary>
internal sealed class DrainingTests : SchedulerTest
{
    private const int Delay = 30;
    private readonly FakeTargetHealth _health = new();

    private ServiceService.ServiceServiceClient Services => new(Host.Channel);
    private TargetGroupService.TargetGroupServiceClient TargetGroups => new(Host.Channel);

    [SetUp]
    public void WithFakeBalancers()
    {
        UseHost(path => new SchedulerHost(path) { ReplaceServices = UseFakeHealth });
    }

    private void UseFakeHealth(IServiceCollection services) => services.AddSingleton<ITargetHealth>(_health);

    /// <summary>A target group, a service of <paramref name="count"/> tasks behind it, all RUNNING on agent "a".</summary>
    private async Task<(SimulatedAgent Agent, List<string> Tasks)> BalancedServiceAsync(int count, int delay = Delay)
    {
        await RegisterAsync();
        await TargetGroups.CreateTargetGroupAsync(new CreateTargetGroupRequest { Name = "web-tg", Port = 18080, DeregistrationDelaySeconds = delay });
        var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        await Services.CreateServiceAsync(new CreateServiceRequest
        {
            ServiceName = "web",
            TaskDefinition = "web",
            DesiredCount = count,
            LoadBalancers = { new LoadBalancer { TargetGroup = "web-tg", ContainerName = "app", ContainerPort = 80 } },
        });
        var tasks = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var start = await agent.NextCommandAsync();
            Assert.That(start.BodyCase, Is.EqualTo(SchedulerMessage.BodyOneofCase.StartTask));
            tasks.Add(start.StartTask.TaskId);
        }

        foreach (var task in tasks)
        {
            await agent.ReportAsync(task, TaskStatus.Running);
        }

        return (agent, tasks);
    }

    /// <summary>Advances the fake clock a second at a time, the agent beating; returns every command it was sent meanwhile.</summary>
    private async Task<List<SchedulerMessage>> SecondsAsync(int seconds, SimulatedAgent agent)
    {
        var sent = new List<SchedulerMessage>();
        for (var i = 0; i < seconds; i++)
        {
            Host.Clock.Advance(TimeSpan.FromSeconds(1));
            sent.AddRange((await agent.HeartbeatAsync()).Where(m => m.BodyCase is SchedulerMessage.BodyOneofCase.StopTask or SchedulerMessage.BodyOneofCase.StartTask));
        }

        return sent;
    }

    private static List<string> Stops(IEnumerable<SchedulerMessage> messages) =>
        [.. messages.Where(m => m.BodyCase == SchedulerMessage.BodyOneofCase.StopTask).Select(m => m.StopTask.TaskId)];

    private async Task<List<Contracts.V1.Task>> StoppingTasksAsync()
    {
        var ids = (await Host.Tasks.ListTasksAsync(new ListTasksRequest { Service = "web", DesiredStatus = TaskStatus.Stopped })).TaskIds;
        return ids.Count == 0 ? [] : [.. (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { ids } })).Tasks];
    }

    [Test]
    public async Task A_scale_in_holds_the_stop_until_the_deregistration_delay_is_over()
    {
        _health.Default = TargetVerdict.Healthy;
        var (agent, tasks) = await BalancedServiceAsync(2);
        await using var _ = agent;

        await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 1 });
        var draining = (await StoppingTasksAsync()).Single();
        var before = await SecondsAsync(Delay - 1, agent);
        var stillDraining = await DescribeAsync(draining.TaskId);
        var at = await SecondsAsync(1, agent);
        var released = await DescribeAsync(draining.TaskId);
        await agent.ReportAsync(draining.TaskId, TaskStatus.Stopped, exitCode: 143);
        var stopped = await DescribeAsync(draining.TaskId);

        Assert.Multiple(() =>
        {
            Assert.That(tasks, Does.Contain(draining.TaskId));
            Assert.That((draining.LastStatus, draining.DesiredStatus), Is.EqualTo((TaskStatus.Deactivating, TaskStatus.Stopped)), "DEACTIVATING while it drains");
            Assert.That(draining.StoppedReason, Is.EqualTo("Service scaled in"));
            Assert.That(Stops(before), Is.Empty, "no stop before the delay is over");
            Assert.That(stillDraining.LastStatus, Is.EqualTo(TaskStatus.Deactivating));
            Assert.That(Stops(at), Is.EqualTo(new[] { draining.TaskId }), "the stop goes at the deadline");
            Assert.That(released.LastStatus, Is.EqualTo(TaskStatus.Deactivating), "until its agent says it is stopping");
            Assert.That((stopped.LastStatus, stopped.StopCode, stopped.StoppedReason), Is.EqualTo((TaskStatus.Stopped, StopCode.ServiceSchedulerInitiated, "Service scaled in")));
        });
    }

    [Test]
    public async Task A_report_of_drained_releases_the_stop_at_once()
    {
        _health.Default = TargetVerdict.Healthy;
        var (agent, _) = await BalancedServiceAsync(2);
        await using var _agent = agent;
        await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 1 });
        var draining = (await StoppingTasksAsync()).Single();
        Assert.That(Stops(await agent.HeartbeatAsync()), Is.Empty, "held");

        _health.Drain(draining.TaskId, new DrainProgress(0, Drained: true));
        var stop = await agent.NextCommandAsync(); // no clock advance: the report's change nudges the releaser

        Assert.Multiple(() =>
        {
            Assert.That((stop.BodyCase, stop.StopTask?.TaskId), Is.EqualTo((SchedulerMessage.BodyOneofCase.StopTask, draining.TaskId)));
            Assert.That(stop.StopTask?.Reason, Is.EqualTo("Service scaled in"));
        });
    }

    [Test]
    public async Task StopTask_drains_a_balanced_task_too()
    {
        _health.Default = TargetVerdict.Healthy;
        var (agent, tasks) = await BalancedServiceAsync(1);
        await using var _ = agent;

        var answered = (await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = tasks[0], Reason = "moving it" })).Task;
        var before = await SecondsAsync(Delay - 1, agent);
        var at = await SecondsAsync(1, agent);

        Assert.Multiple(() =>
        {
            Assert.That(answered.LastStatus, Is.EqualTo(TaskStatus.Deactivating));
            Assert.That(Stops(before), Is.Empty);
            Assert.That(Stops(at), Is.EqualTo(new[] { tasks[0] }));
        });
    }

    [Test]
    public async Task A_group_without_a_deregistration_delay_stops_at_once()
    {
        _health.Default = TargetVerdict.Healthy;
        var (agent, tasks) = await BalancedServiceAsync(1, delay: 0);
        await using var _ = agent;

        var answered = (await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = tasks[0] })).Task;
        var stop = await agent.NextCommandAsync();
        Assert.Multiple(() =>
        {
            Assert.That(answered.LastStatus, Is.EqualTo(TaskStatus.Running));
            Assert.That(stop.StopTask?.TaskId, Is.EqualTo(tasks[0]));
        });
    }

    [Test]
    public async Task A_deleted_service_drains_its_tasks_and_goes_once_they_stopped()
    {
        _health.Default = TargetVerdict.Healthy;
        var (agent, tasks) = await BalancedServiceAsync(1);
        await using var _ = agent;

        await Services.DeleteServiceAsync(new DeleteServiceRequest { Service = "web", Force = true });
        var draining = await DescribeAsync(tasks[0]);
        var before = await SecondsAsync(Delay - 1, agent);
        var kept = (await Services.DescribeServicesAsync(new DescribeServicesRequest { Services = { "web" } })).Services.Count;
        var at = await SecondsAsync(1, agent);
        await agent.ReportAsync(tasks[0], TaskStatus.Stopped, exitCode: 143);
        await SecondsAsync(1, agent);
        var gone = (await Services.DescribeServicesAsync(new DescribeServicesRequest { Services = { "web" } })).Services.Count;

        Assert.Multiple(() =>
        {
            Assert.That(draining.LastStatus, Is.EqualTo(TaskStatus.Deactivating));
            Assert.That(Stops(before), Is.Empty);
            Assert.That(kept, Is.EqualTo(1), "the service stays while its task drains (its targets are derived from it)");
            Assert.That(Stops(at), Is.EqualTo(new[] { tasks[0] }));
            Assert.That(gone, Is.Zero, "and goes once it stopped");
        });
    }

    [Test]
    public async Task A_restarted_scheduler_keeps_the_hold_and_releases_it_at_the_deadline()
    {
        _health.Default = TargetVerdict.Healthy;
        var (agent, tasks) = await BalancedServiceAsync(2);
        await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 1 });
        var draining = (await StoppingTasksAsync()).Single().TaskId;
        await SecondsAsync(10, agent);
        await agent.DisposeAsync();

        RestartScheduler(UseFakeHealth);
        await using var back = await SimulatedAgent.ConnectAsync(Host.Agents, "a", running: tasks.Select(t => SimulatedAgent.Report(t, TaskStatus.Running)));
        var afterRestart = await DescribeAsync(draining);
        var before = await SecondsAsync(Delay - 10 - 1, back);
        var at = await SecondsAsync(1, back);

        Assert.Multiple(() =>
        {
            Assert.That(back.Registered.StartTasks.Select(s => s.TaskId), Is.EquivalentTo(tasks), "the agent is told to keep the draining task running");
            Assert.That(back.Registered.StopTasks, Is.Empty, "and not to stop it");
            Assert.That(afterRestart.LastStatus, Is.EqualTo(TaskStatus.Deactivating));
            Assert.That(Stops(before), Is.Empty, "the reports of the running task do not send its stop either");
            Assert.That(Stops(at), Is.EqualTo(new[] { draining }), "released at the deadline set before the restart");
        });
    }

    [Test]
    public async Task Without_any_balancer_connected_a_hold_waits_for_its_deadline_across_a_restart()
    {
        UseHost(path => new SchedulerHost(path)); // the real book of verdicts: no balancer ever connects
        var (agent, tasks) = await BalancedServiceAsync(1);
        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = tasks[0] });
        var before = await SecondsAsync(5, agent);
        await agent.DisposeAsync();

        RestartScheduler();
        await using var back = await SimulatedAgent.ConnectAsync(Host.Agents, "a", running: [SimulatedAgent.Report(tasks[0], TaskStatus.Running)]);
        var afterRestart = await SecondsAsync(Delay - 5 - 1, back);
        var at = await SecondsAsync(1, back);

        Assert.Multiple(() =>
        {
            Assert.That(Stops(before), Is.Empty, "nothing known of its drain is not drained");
            Assert.That(Stops(afterRestart), Is.Empty, "nor after a restart, with no balancer back yet");
            Assert.That(Stops(at), Is.EqualTo(new[] { tasks[0] }), "released at its deadline");
        });
    }

    [Test]
    public async Task A_report_of_a_draining_task_does_not_send_its_stop()
    {
        _health.Default = TargetVerdict.Healthy;
        var (agent, tasks) = await BalancedServiceAsync(1);
        await using var _ = agent;
        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = tasks[0] });

        var answers = await agent.ReportAsync(tasks[0], TaskStatus.Running, health: HealthStatus.Healthy);
        Assert.That(Stops(answers), Is.Empty);
    }

    [Test]
    public async Task A_deployment_waits_until_the_balancer_finds_the_new_task_healthy()
    {
        _health.Default = TargetVerdict.Initial;
        var (agent, tasks) = await BalancedServiceAsync(1);
        await using var _ = agent;
        _health.Set("web-tg", tasks[0], TargetVerdict.Healthy);
        await SecondsAsync(1, agent);
        var steady = (await Services.DescribeServicesAsync(new DescribeServicesRequest { Services = { "web" } })).Services.Single();

        await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", ForceNewDeployment = true });
        var start = await agent.NextCommandAsync();
        await agent.ReportAsync(start.StartTask.TaskId, TaskStatus.Running);
        var waiting = await SecondsAsync(3, agent);

        _health.Set("web-tg", start.StartTask.TaskId, TargetVerdict.Healthy); // raises Changed: the service pass runs at once
        await EventuallyAsync(async () => (await StoppingTasksAsync()).Any(t => t.TaskId == tasks[0]), "the old task is asked to stop");
        var old = await DescribeAsync(tasks[0]);

        Assert.Multiple(() =>
        {
            Assert.That(steady.Deployments.Single().RolloutState, Is.EqualTo("COMPLETED"));
            Assert.That(Stops(waiting), Is.Empty, "the old task runs on while the balancer has not found the new one healthy");
            Assert.That((old.LastStatus, old.StoppedReason), Is.EqualTo((TaskStatus.Deactivating, "Replaced by a newer deployment")), "and then drains");
        });
    }

    [Test]
    public async Task A_task_the_balancer_finds_unhealthy_is_replaced_and_drained()
    {
        _health.Default = TargetVerdict.Healthy;
        var (agent, tasks) = await BalancedServiceAsync(1);
        await using var _ = agent;

        _health.Set("web-tg", tasks[0], TargetVerdict.Unhealthy);
        await EventuallyAsync(async () => (await StoppingTasksAsync()).Count == 1, "the task is asked to stop");
        var failed = await DescribeAsync(tasks[0]);
        var start = await agent.NextCommandAsync();

        Assert.Multiple(() =>
        {
            Assert.That((failed.LastStatus, failed.StoppedReason), Is.EqualTo((TaskStatus.Deactivating, "Task failed ELB health checks in target group web-tg")));
            Assert.That(start.BodyCase, Is.EqualTo(SchedulerMessage.BodyOneofCase.StartTask), "a replacement starts");
        });
    }

    [Test]
    public async Task An_unknown_verdict_replaces_nothing()
    {
        _health.Default = TargetVerdict.Unknown;
        var (agent, _) = await BalancedServiceAsync(1);
        await using var _agent = agent;
        var sent = await SecondsAsync(5, agent);
        var stopping = await StoppingTasksAsync();
        Assert.Multiple(() =>
        {
            Assert.That(sent, Is.Empty);
            Assert.That(stopping, Is.Empty);
        });
    }

    /// <summary>The balancers' verdicts as a test sets them; each change raises <see cref="Changed"/> as the real book does.</summary>
    private sealed class FakeTargetHealth : ITargetHealth
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<(string, string), TargetVerdict> _verdicts = new();
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DrainProgress> _drains = new();

        public TargetVerdict Default { get; set; } = TargetVerdict.Unknown;

        public event Action? Changed;

        public TargetVerdict Of(string targetGroup, string taskId) => _verdicts.GetValueOrDefault((targetGroup, taskId), Default);

        public DrainProgress DrainOf(string taskId) => _drains.GetValueOrDefault(taskId);

        public void Set(string targetGroup, string taskId, TargetVerdict verdict)
        {
            _verdicts[(targetGroup, taskId)] = verdict;
            Changed?.Invoke();
        }

        public void Drain(string taskId, DrainProgress progress)
        {
            _drains[taskId] = progress;
            Changed?.Invoke();
        }
    }
}
