using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// Task scale-in protection against simulated agents that run tasks by themselves, on a fake clock:
/// the service pass runs once per (fake) second.
/// </summary>
internal sealed class TaskProtectionTests : SchedulerTest
{
    private ServiceService.ServiceServiceClient Services => new(Host.Channel);

    private async Task<Service> DescribeServiceAsync() =>
        (await Services.DescribeServicesAsync(new DescribeServicesRequest { Services = { "web" } })).Services.Single();

    private async Task<List<string>> LiveTaskIdsAsync() =>
        [.. (await Host.Tasks.ListTasksAsync(new ListTasksRequest { Service = "web", DesiredStatus = TaskStatus.Running })).TaskIds.Order(StringComparer.Ordinal)];

    /// <summary>Fake time in steps of a second, each with a heartbeat, so the agent stays connected; the service pass runs at each.</summary>
    private async Task PassesAsync(int seconds, SimulatedAgent agent)
    {
        for (var i = 0; i < seconds; i++)
        {
            Host.Clock.Advance(TimeSpan.FromSeconds(1));
            await agent.BeatAsync();
            await Task.Delay(50);
        }
    }

    /// <summary>A service "web" of <paramref name="count"/> tasks, all RUNNING on an agent that answers by itself.</summary>
    private async Task<SimulatedAgent> ServiceOfAsync(int count)
    {
        await RegisterAsync();
        var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        agent.RunAutomatically();
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = count });
        await EventuallyAsync(async () => (await DescribeServiceAsync()).RunningCount == count, $"{count} tasks run");
        return agent;
    }

    private Task<UpdateTaskProtectionResponse> ProtectAsync(IEnumerable<string> tasks, int? minutes = null, bool enabled = true)
    {
        var request = new UpdateTaskProtectionRequest { Tasks = { tasks }, ProtectionEnabled = enabled };
        if (minutes is { } m)
        {
            request.ExpiresInMinutes = m;
        }

        return Host.Tasks.UpdateTaskProtectionAsync(request).ResponseAsync;
    }

    private async Task<Dictionary<string, DateTimeOffset?>> ProtectionAsync(IEnumerable<string> tasks)
    {
        var response = await Host.Tasks.GetTaskProtectionAsync(new GetTaskProtectionRequest { Tasks = { tasks } });
        Assert.That(response.Failures, Is.Empty);
        return response.ProtectedTasks.ToDictionary(p => p.TaskId, p => p.ProtectionEnabled ? p.ExpirationDate.ToDateTimeOffset() : (DateTimeOffset?)null);
    }

    [Test]
    public async Task Scale_in_stops_the_unprotected_tasks_and_leaves_the_protected_one_running()
    {
        await using var agent = await ServiceOfAsync(3);
        var tasks = await LiveTaskIdsAsync();
        var now = Host.Clock.GetUtcNow();
        var answer = await ProtectAsync([tasks[1]], minutes: 30);
        var protection = await ProtectionAsync(tasks);

        await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 1 });
        await EventuallyAsync(async () => (await LiveTaskIdsAsync()).Count == 1 && (await DescribeServiceAsync()).RunningCount == 1, "one runs");
        await PassesAsync(3, agent);
        var live = await LiveTaskIdsAsync();
        var stopped = await Task.WhenAll(new[] { tasks[0], tasks[2] }.Select(id => DescribeAsync(id)));
        Assert.Multiple(() =>
        {
            var only = answer.ProtectedTasks.Single();
            Assert.That((only.TaskId, only.ProtectionEnabled, only.ExpirationDate.ToDateTimeOffset()), Is.EqualTo((tasks[1], true, now.AddMinutes(30))));
            Assert.That(answer.Failures, Is.Empty);
            Assert.That(protection, Is.EquivalentTo(new Dictionary<string, DateTimeOffset?> { [tasks[0]] = null, [tasks[1]] = now.AddMinutes(30), [tasks[2]] = null }));
            Assert.That(live, Is.EqualTo(new[] { tasks[1] }), "the protected task is the one left");
            Assert.That(stopped.Select(t => (t.LastStatus, t.StoppedReason)), Is.All.EqualTo((TaskStatus.Stopped, "Service scaled in")));
        });
    }

    [Test]
    public async Task A_protected_surplus_task_runs_until_its_protection_expires_and_is_then_stopped()
    {
        await using var agent = await ServiceOfAsync(3);
        var tasks = await LiveTaskIdsAsync();
        var now = Host.Clock.GetUtcNow();
        var shortly = await ProtectAsync([tasks[0]], minutes: 1);
        var byDefault = await ProtectAsync([tasks[1]]);

        await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 1 });
        await EventuallyAsync(async () => (await DescribeAsync(tasks[2])).LastStatus == TaskStatus.Stopped, "the unprotected task stops");
        await PassesAsync(5, agent);
        var whileProtected = await LiveTaskIdsAsync();
        var serviceWhileProtected = await DescribeServiceAsync();

        await PassesAsync(60, agent);
        await EventuallyAsync(async () => (await DescribeAsync(tasks[0])).LastStatus == TaskStatus.Stopped, "the task whose protection expired stops");
        await PassesAsync(2, agent);
        var afterExpiry = await LiveTaskIdsAsync();
        var service = await DescribeServiceAsync();
        var expired = await DescribeAsync(tasks[0]);
        var protection = await ProtectionAsync(tasks[..2]);
        Assert.Multiple(() =>
        {
            Assert.That(shortly.ProtectedTasks.Single().ExpirationDate.ToDateTimeOffset(), Is.EqualTo(now.AddMinutes(1)));
            Assert.That(byDefault.ProtectedTasks.Single().ExpirationDate.ToDateTimeOffset(), Is.EqualTo(now.AddMinutes(120)), "2 hours when not given");
            Assert.That(whileProtected, Is.EqualTo(tasks[..2]), "both protected tasks run beyond the desired count");
            Assert.That(serviceWhileProtected.RunningCount, Is.EqualTo(2));
            Assert.That(afterExpiry, Is.EqualTo(new[] { tasks[1] }), "the one still protected stays");
            Assert.That((service.DesiredCount, service.RunningCount), Is.EqualTo((1, 1)));
            Assert.That((expired.StopCode, expired.StoppedReason), Is.EqualTo((StopCode.ServiceSchedulerInitiated, "Service scaled in")));
            Assert.That(protection, Is.EquivalentTo(new Dictionary<string, DateTimeOffset?> { [tasks[0]] = null, [tasks[1]] = now.AddMinutes(120) }), "an expired protection reads as none");
        });
    }

    [Test]
    public async Task Removing_the_protection_lets_the_scale_in_proceed()
    {
        await using var agent = await ServiceOfAsync(3);
        var tasks = await LiveTaskIdsAsync();
        await ProtectAsync(tasks);
        await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 1 });
        await PassesAsync(3, agent);
        var allProtected = await LiveTaskIdsAsync();

        var removed = await ProtectAsync(tasks[..2], enabled: false);
        await PassesAsync(2, agent);
        await EventuallyAsync(async () => (await LiveTaskIdsAsync()).Count == 1 && (await DescribeServiceAsync()).RunningCount == 1, "one runs");
        var live = await LiveTaskIdsAsync();
        Assert.Multiple(() =>
        {
            Assert.That(allProtected, Is.EqualTo(tasks), "nothing is stopped while all three are protected");
            Assert.That(removed.ProtectedTasks.Select(p => (p.TaskId, p.ProtectionEnabled, p.ExpirationDate is null)), Is.EquivalentTo(tasks[..2].Select(id => (id, false, true))));
            Assert.That(live, Is.EqualTo(new[] { tasks[2] }), "the task still protected is kept");
        });
    }

    [Test]
    public async Task Only_live_service_tasks_can_be_protected_each_failure_on_its_own()
    {
        await using var agent = await ServiceOfAsync(2);
        var tasks = await LiveTaskIdsAsync();
        var standalone = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks.Single().TaskId;
        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = tasks[1] });
        var unknown = new string('a', 32);

        var answer = await ProtectAsync([standalone, unknown, tasks[0], tasks[1]]);
        var read = await Host.Tasks.GetTaskProtectionAsync(new GetTaskProtectionRequest { Tasks = { tasks[0], unknown, standalone } });
        Assert.Multiple(() =>
        {
            Assert.That(answer.ProtectedTasks.Select(p => (p.TaskId, p.ProtectionEnabled)), Is.EqualTo(new[] { (tasks[0], true) }));
            Assert.That(answer.Failures.Select(f => (f.Subject, f.Reason)), Is.EquivalentTo(new[] { (standalone, "TASK_NOT_VALID"), (unknown, "MISSING"), (tasks[1], "TASK_NOT_VALID") }));
            Assert.That(answer.Failures.Single(f => f.Subject == standalone).Detail, Does.Contain("not a service task"));
            Assert.That(read.ProtectedTasks.Select(p => (p.TaskId, p.ProtectionEnabled)), Is.EquivalentTo(new[] { (tasks[0], true), (standalone, false) }));
            Assert.That(read.Failures.Select(f => (f.Subject, f.Reason)), Is.EqualTo(new[] { (unknown, "MISSING") }));
        });
    }

    [TestCase(0, 60, "tasks: name at least one task id")]
    [TestCase(11, 60, "tasks: at most 10 allowed, got 11")]
    [TestCase(1, 0, "expiresInMinutes: must be between 1 and 2880 (48 hours), not 0")]
    [TestCase(1, 2881, "expiresInMinutes: must be between 1 and 2880 (48 hours), not 2881")]
    [TestCase(1, -5, "expiresInMinutes: must be between 1 and 2880 (48 hours), not -5")]
    public void Bad_protection_requests_are_refused_naming_the_field(int taskCount, int minutes, string detail)
    {
        var ids = Enumerable.Range(0, taskCount).Select(i => $"{i:x32}").ToList();
        var error = Refused(() => ProtectAsync(ids, minutes));
        Assert.That((error.StatusCode, error.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, detail)));
    }

    [TestCase(1)]
    [TestCase(2880)]
    public async Task The_bounds_of_expiresInMinutes_are_accepted(int minutes)
    {
        await using var agent = await ServiceOfAsync(1);
        var tasks = await LiveTaskIdsAsync();
        var now = Host.Clock.GetUtcNow();
        var answer = await ProtectAsync(tasks, minutes);
        Assert.That(answer.ProtectedTasks.Single().ExpirationDate.ToDateTimeOffset(), Is.EqualTo(now.AddMinutes(minutes)));
    }
}
