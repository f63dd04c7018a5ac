using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// Blue/green and canary with task sets (EXTERNAL controller) against simulated agents that answer by
/// themselves; the fake clock's passes reconcile, and SettleAsync waits until every answer is applied.
/// </summary>
internal sealed class TaskSetTests : SchedulerTest
{
    private ServiceService.ServiceServiceClient Services => new(Host.Channel);

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

    private async Task<Dictionary<string, int>> RunningPerSetAsync() =>
        (await LiveTasksAsync()).Where(t => t.LastStatus == TaskStatus.Running).GroupBy(t => t.TaskDefinitionArn).ToDictionary(g => g.Key, g => g.Count());

    private async Task<TaskSet> TaskSetAsync(string id) =>
        (await Services.DescribeTaskSetsAsync(new DescribeTaskSetsRequest { Service = "web", TaskSets = { id } })).TaskSets.Single();

    private Task<CreateServiceResponse> CreateExternalAsync(int desired) =>
        Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", DesiredCount = desired, DeploymentController = new DeploymentController { Type = "EXTERNAL" } }).ResponseAsync;

    private Task<CreateTaskSetResponse> CreateTaskSetAsync(string definition, double? scale = null, string clientToken = "") =>
        Services.CreateTaskSetAsync(new CreateTaskSetRequest
        {
            Service = "web",
            TaskDefinition = definition,
            Scale = scale is { } value ? new Scale { Value = value, Unit = "PERCENT" } : null,
            ClientToken = clientToken,
        }).ResponseAsync;

    [Test]
    public async Task Blue_green_with_a_canary_then_promoted_and_the_old_set_deleted()
    {
        await RegisterAsync();                             // web:1, blue
        await RegisterAsync(WebDefinition(memory: 256));   // web:2, green
        await using var a = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        await using var b = await SimulatedAgent.ConnectAsync(Host.Agents, "b");
        a.RunAutomatically();
        b.RunAutomatically();
        var created = (await CreateExternalAsync(10)).Service;
        Assert.That((created.TaskSets.Count, created.Deployments.Count, created.TaskDefinition), Is.EqualTo((0, 0, "")), "an EXTERNAL service starts nothing by itself");

        var blue = (await CreateTaskSetAsync("web:1")).TaskSet;
        Assert.That((blue.Status, blue.Scale.Value, blue.Scale.Unit, blue.ComputedDesiredCount), Is.EqualTo(("PRIMARY", 100.0, "PERCENT", 10)));
        await PassesAsync(2, a, b);
        Assert.That(await RunningPerSetAsync(), Is.EqualTo(new Dictionary<string, int> { ["web:1"] = 10 }));
        Assert.That((await TaskSetAsync(blue.Id)).StabilityStatus, Is.EqualTo("STEADY_STATE"));

        var green = (await CreateTaskSetAsync("web:2", scale: 10)).TaskSet;
        Assert.That((green.Status, green.ComputedDesiredCount), Is.EqualTo(("ACTIVE", 1)), "a canary at 10 % of 10");
        await PassesAsync(2, a, b);
        Assert.That(await RunningPerSetAsync(), Is.EqualTo(new Dictionary<string, int> { ["web:1"] = 10, ["web:2"] = 1 }));
        var greenTasks = (await LiveTasksAsync()).Where(t => t.TaskDefinitionArn == "web:2").ToList();

        var raised = (await Services.UpdateTaskSetAsync(new UpdateTaskSetRequest { Service = "web", TaskSet = green.Id, Scale = new Scale { Value = 100, Unit = "PERCENT" } })).TaskSet;
        Assert.That(raised.ComputedDesiredCount, Is.EqualTo(10));
        await PassesAsync(2, a, b);
        Assert.That(await RunningPerSetAsync(), Is.EqualTo(new Dictionary<string, int> { ["web:1"] = 10, ["web:2"] = 10 }));

        var promoted = (await Services.UpdateServicePrimaryTaskSetAsync(new UpdateServicePrimaryTaskSetRequest { Service = "web", PrimaryTaskSet = green.Id })).TaskSet;
        await PassesAsync(1, a, b);
        var service = (await Services.DescribeServicesAsync(new DescribeServicesRequest { Services = { "web" } })).Services.Single();
        Assert.Multiple(() =>
        {
            Assert.That(promoted.Status, Is.EqualTo("PRIMARY"));
            Assert.That(service.TaskSets.Select(s => (s.Id, s.Status)), Is.EqualTo(new[] { (green.Id, "PRIMARY"), (blue.Id, "ACTIVE") }));
            Assert.That(service.TaskDefinition, Is.EqualTo("web:2"));
            Assert.That(service.RunningCount, Is.EqualTo(20), "promotion stops nothing");
        });

        var deleted = (await Services.DeleteTaskSetAsync(new DeleteTaskSetRequest { Service = "web", TaskSet = blue.Id })).TaskSet;
        Assert.That(deleted.Status, Is.EqualTo("DRAINING"));
        await PassesAsync(3, a, b);
        var after = (await Services.DescribeServicesAsync(new DescribeServicesRequest { Services = { "web" } })).Services.Single();
        var stopped = (await Host.Tasks.ListTasksAsync(new ListTasksRequest { Service = "web", DesiredStatus = TaskStatus.Stopped })).TaskIds;
        var stoppedTasks = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { stopped } })).Tasks;
        Assert.Multiple(async () =>
        {
            Assert.That(await RunningPerSetAsync(), Is.EqualTo(new Dictionary<string, int> { ["web:2"] = 10 }));
            Assert.That(stoppedTasks.Select(t => (t.TaskDefinitionArn, t.StoppedReason)), Is.EqualTo(Enumerable.Repeat(("web:1", "Task set deleted"), 10)));
            Assert.That(after.TaskSets.Select(s => s.Id), Is.EqualTo(new[] { green.Id }), "the drained set is gone once its tasks stopped");
            Assert.That((await LiveTasksAsync()).Where(t => t.TaskDefinitionArn == "web:2").Select(t => t.TaskId), Is.SupersetOf(greenTasks.Select(t => t.TaskId)), "the canary's task kept running");
        });
    }

    [Test]
    public async Task The_desired_count_moves_every_set_and_a_client_token_answers_the_same_set()
    {
        await RegisterAsync();
        await RegisterAsync(WebDefinition(memory: 256));
        await using var a = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        a.RunAutomatically();
        await CreateExternalAsync(4);
        var blue = (await CreateTaskSetAsync("web:1", clientToken: "blue-1")).TaskSet;
        var again = (await CreateTaskSetAsync("web:1", clientToken: "blue-1")).TaskSet;
        var green = (await CreateTaskSetAsync("web:2", scale: 50)).TaskSet;
        await PassesAsync(2, a);
        Assert.That(again.Id, Is.EqualTo(blue.Id));
        Assert.That(await RunningPerSetAsync(), Is.EqualTo(new Dictionary<string, int> { ["web:1"] = 4, ["web:2"] = 2 }));

        await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 2 });
        await PassesAsync(2, a);
        var sets = (await Services.DescribeTaskSetsAsync(new DescribeTaskSetsRequest { Service = "web" })).TaskSets;
        Assert.Multiple(async () =>
        {
            Assert.That(await RunningPerSetAsync(), Is.EqualTo(new Dictionary<string, int> { ["web:1"] = 2, ["web:2"] = 1 }));
            Assert.That(sets.Select(s => (s.Id, s.ComputedDesiredCount, s.RunningCount, s.StabilityStatus)),
                Is.EqualTo(new[] { (blue.Id, 2, 2, "STEADY_STATE"), (green.Id, 1, 1, "STEADY_STATE") }));
        });
    }

    [Test]
    public async Task Task_sets_survive_a_restart()
    {
        await RegisterAsync();
        await RegisterAsync(WebDefinition(memory: 256));
        await CreateExternalAsync(4);
        var blue = (await CreateTaskSetAsync("web:1", clientToken: "blue")).TaskSet;
        var green = (await Services.CreateTaskSetAsync(new CreateTaskSetRequest { Service = "web", TaskDefinition = "web:2", Scale = new Scale { Value = 25, Unit = "PERCENT" }, ExternalId = "green" })).TaskSet;
        await Services.UpdateServicePrimaryTaskSetAsync(new UpdateServicePrimaryTaskSetRequest { Service = "web", PrimaryTaskSet = green.Id });

        RestartScheduler();
        var sets = (await Services.DescribeTaskSetsAsync(new DescribeTaskSetsRequest { Service = "web" })).TaskSets;
        var retried = (await CreateTaskSetAsync("web:1", clientToken: "blue")).TaskSet;
        Assert.Multiple(() =>
        {
            Assert.That(sets.Select(s => (s.Id, s.Status, s.TaskDefinition, s.Scale.Value, s.ExternalId, s.ComputedDesiredCount)),
                Is.EqualTo(new[] { (green.Id, "PRIMARY", "web:2", 25.0, "green", 1), (blue.Id, "ACTIVE", "web:1", 100.0, "", 4) }));
            Assert.That(retried.Id, Is.EqualTo(blue.Id), "the client token is kept");
        });
    }

    [Test]
    public async Task Task_set_calls_refuse_what_they_cannot_do()
    {
        await RegisterAsync();
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "ecs", TaskDefinition = "web", DesiredCount = 0 });
        await CreateExternalAsync(2);
        var blue = (await CreateTaskSetAsync("web")).TaskSet;

        static string Detail(RpcException e) => e.Status.Detail;
        var onEcs = Refused(() => Services.CreateTaskSetAsync(new CreateTaskSetRequest { Service = "ecs", TaskDefinition = "web" }).ResponseAsync);
        var describeOnEcs = Refused(() => Services.DescribeTaskSetsAsync(new DescribeTaskSetsRequest { Service = "ecs" }).ResponseAsync);
        var noService = Refused(() => Services.CreateTaskSetAsync(new CreateTaskSetRequest { Service = "nope", TaskDefinition = "web" }).ResponseAsync);
        var noCluster = Refused(() => Services.CreateTaskSetAsync(new CreateTaskSetRequest { Cluster = "nope", Service = "web", TaskDefinition = "web" }).ResponseAsync);
        var noDefinition = Refused(() => CreateTaskSetAsync("other"));
        var badScale = Refused(() => CreateTaskSetAsync("web", scale: 101));
        var noSet = Refused(() => Services.UpdateTaskSetAsync(new UpdateTaskSetRequest { Service = "web", TaskSet = "ecs-svc/nope", Scale = new Scale { Value = 5 } }).ResponseAsync);
        var primary = Refused(() => Services.DeleteTaskSetAsync(new DeleteTaskSetRequest { Service = "web", TaskSet = blue.Id }).ResponseAsync);
        var newDefinition = Refused(() => Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", TaskDefinition = "web" }).ResponseAsync);
        var missing = await Services.DescribeTaskSetsAsync(new DescribeTaskSetsRequest { Service = "web", TaskSets = { blue.Id, "ecs-svc/nope" } });
        Assert.Multiple(() =>
        {
            Assert.That((onEcs.StatusCode, Detail(onEcs)), Is.EqualTo((StatusCode.FailedPrecondition, "service: service \"ecs\" uses the ECS deployment controller; task sets need the EXTERNAL one (deploymentController.type EXTERNAL)")));
            Assert.That(describeOnEcs.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
            Assert.That((noService.StatusCode, Detail(noService)), Is.EqualTo((StatusCode.NotFound, "service: service \"nope\" does not exist in cluster \"default\"")));
            Assert.That(noCluster.StatusCode, Is.EqualTo(StatusCode.NotFound));
            Assert.That(Detail(noCluster), Does.StartWith("cluster: "));
            Assert.That(noDefinition.StatusCode, Is.EqualTo(StatusCode.NotFound));
            Assert.That(Detail(noDefinition), Does.StartWith("taskDefinition: "));
            Assert.That((badScale.StatusCode, Detail(badScale)), Is.EqualTo((StatusCode.InvalidArgument, "scale.value: must be between 0 and 100 (percent), not 101")));
            Assert.That((noSet.StatusCode, Detail(noSet)), Is.EqualTo((StatusCode.NotFound, "taskSet: task set \"ecs-svc/nope\" does not exist in service \"web\"")));
            Assert.That(primary.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
            Assert.That(Detail(primary), Does.StartWith("taskSet: ").And.Contains("PRIMARY"));
            Assert.That((newDefinition.StatusCode, Detail(newDefinition)), Is.EqualTo((StatusCode.FailedPrecondition, "taskDefinition: service \"web\" has the EXTERNAL deployment controller: it deploys through its task sets; use task sets (CreateTaskSet, UpdateServicePrimaryTaskSet) instead")));
            Assert.That(missing.TaskSets.Select(s => s.Id), Is.EqualTo(new[] { blue.Id }));
            Assert.That(missing.Failures.Select(f => (f.Subject, f.Reason)), Is.EqualTo(new[] { ("ecs-svc/nope", "MISSING") }));
        });

        var forced = (await Services.DeleteTaskSetAsync(new DeleteTaskSetRequest { Service = "web", TaskSet = blue.Id, Force = true })).TaskSet;
        Assert.That(forced.Status, Is.EqualTo("DRAINING"), "the PRIMARY one with force");
    }
}
