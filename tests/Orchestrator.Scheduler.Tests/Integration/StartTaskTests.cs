using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>StartTask: one task on each named node, with every check but the strategy; a node that cannot is a failure of its own.</summary>
internal sealed class StartTaskTests : SchedulerTest
{
    private static StartTaskRequest Start(params string[] nodes) => new() { TaskDefinition = "web", Nodes = { nodes } };

    private static StartTaskRequest With(StartTaskRequest request, Action<StartTaskRequest> change)
    {
        var changed = request.Clone();
        change(changed);
        return changed;
    }

    [Test]
    public async Task One_task_starts_on_each_named_node_and_nowhere_else()
    {
        await RegisterAsync();
        await using var n1 = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        await using var n2 = await SimulatedAgent.ConnectAsync(Host.Agents, "n2");
        await using var n3 = await SimulatedAgent.ConnectAsync(Host.Agents, "n3", memory: 65536);

        var started = await Host.Tasks.StartTaskAsync(With(Start("n2", "n1"), r => { r.StartedBy = "me"; r.Group = "batch"; }));
        var on1 = (await n1.NextCommandAsync()).StartTask;
        var on2 = (await n2.NextCommandAsync()).StartTask;
        var onN3 = await n3.HeartbeatAsync();
        Assert.Multiple(() =>
        {
            Assert.That(started.Failures, Is.Empty);
            Assert.That(started.Tasks.Select(t => t.Node), Is.EqualTo(new[] { "n2", "n1" }), "in the order named; n3 would fit best but was not named");
            Assert.That(started.Tasks.Select(t => (t.StartedBy, t.Group, t.TaskDefinitionArn)), Is.All.EqualTo(("me", "batch", "web:1")));
            Assert.That(started.Tasks.Select(t => t.Containers.Single().NetworkBindings.Single().HostPort), Is.All.EqualTo(49153), "ports are reserved as RunTask's are");
            Assert.That((on1.TaskId, on2.TaskId), Is.EqualTo((started.Tasks[1].TaskId, started.Tasks[0].TaskId)));
            Assert.That(onN3.Where(m => m.BodyCase == SchedulerMessage.BodyOneofCase.StartTask), Is.Empty);
        });
    }

    [Test]
    public async Task A_node_that_cannot_take_the_task_is_a_failure_of_its_own()
    {
        await RegisterAsync(); // 256 cpu, 512 MiB
        await using var fits = await SimulatedAgent.ConnectAsync(Host.Agents, "fits", attributes: new Dictionary<string, string> { ["zone"] = "a" });
        await using var small = await SimulatedAgent.ConnectAsync(Host.Agents, "small", memory: 256, attributes: new Dictionary<string, string> { ["zone"] = "a" });
        await using var elsewhere = await SimulatedAgent.ConnectAsync(Host.Agents, "elsewhere", attributes: new Dictionary<string, string> { ["zone"] = "b" });

        var result = await Host.Tasks.StartTaskAsync(With(Start("small", "fits", "elsewhere", "ghost"),
            r => r.PlacementConstraints.Add(new PlacementConstraint { Type = "memberOf", Expression = "attribute:zone == a" })));
        Assert.Multiple(() =>
        {
            Assert.That(result.Tasks.Single().Node, Is.EqualTo("fits"));
            Assert.That(result.Failures.Select(f => (f.Subject, f.Reason, f.Detail)), Is.EqualTo(new[]
            {
                ("small", "RESOURCE:MEMORY", "1 node: insufficient memory (needs 512 MiB, best has 256)"),
                ("elsewhere", "CONSTRAINT", "1 node: memberOf(attribute:zone == a)"),
                ("ghost", "MISSING", "no node named \"ghost\" is registered in the cluster"),
            }));
        });
    }

    [Test]
    public async Task A_node_whose_agent_is_away_takes_nothing()
    {
        await RegisterAsync();
        var away = await SimulatedAgent.ConnectAsync(Host.Agents, "away");
        await away.DisposeAsync();
        await EventuallyAsync(async () => !(await NodeAsync("away")).AgentConnected, "the node is disconnected");

        var result = await Host.Tasks.StartTaskAsync(Start("away"));
        Assert.Multiple(() =>
        {
            Assert.That(result.Tasks, Is.Empty);
            Assert.That(result.Failures.Select(f => (f.Subject, f.Reason, f.Detail)), Is.EqualTo(new[] { ("away", "NO_ACTIVE_NODES", "1 node: agent disconnected") }));
        });
    }

    [Test]
    public async Task A_retry_with_its_client_token_starts_nothing_new()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var request = With(Start("n1"), r => r.ClientToken = "once");

        var first = await Host.Tasks.StartTaskAsync(request);
        var again = await Host.Tasks.StartTaskAsync(request);
        var reused = Refused(() => Host.Tasks.StartTaskAsync(With(request, r => r.StartedBy = "other")).ResponseAsync);
        var asRunTask = Refused(() => Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", ClientToken = "once" }).ResponseAsync);
        var tasks = await Host.Tasks.ListTasksAsync(new ListTasksRequest());
        Assert.Multiple(() =>
        {
            Assert.That(again.Tasks.Select(t => t.TaskId), Is.EqualTo(first.Tasks.Select(t => t.TaskId)));
            Assert.That(tasks.TaskIds, Has.Count.EqualTo(1));
            Assert.That((reused.StatusCode, reused.Status.Detail), Is.EqualTo((StatusCode.AlreadyExists, "clientToken: was already used for a different StartTask request")));
            Assert.That(asRunTask.StatusCode, Is.EqualTo(StatusCode.AlreadyExists), "one token namespace for both calls");
        });
    }

    [Test]
    public async Task StartTask_takes_overrides()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", memory: 300);
        var overrides = new TaskOverride { ContainerOverrides = { new ContainerOverride { Name = "app", Memory = 256, Command = { "true" } } } };

        var result = await Host.Tasks.StartTaskAsync(With(Start("n1"), r => r.Overrides = overrides));
        var start = (await agent.NextCommandAsync()).StartTask;
        Assert.Multiple(() =>
        {
            Assert.That(result.Tasks.Single().Memory, Is.EqualTo(256), "fits only with the override");
            Assert.That(start.Overrides, Is.EqualTo(overrides));
        });
    }

    private static IEnumerable<TestCaseData> BadRequests()
    {
        TestCaseData Case(string name, StartTaskRequest request, string message) => new TestCaseData(request).Returns(message).SetName(name);

        yield return Case("no nodes", Start(), "nodes: 1 to 10 node names are required");
        yield return Case("eleven nodes", Start([.. Enumerable.Range(0, 11).Select(i => $"n{i}")]), "nodes: at most 10 allowed, got 11");
        yield return Case("a node named twice", Start("n1", "n2", "n1"), "nodes[2]: node \"n1\" is named twice; StartTask starts one task on each node");
        yield return Case("a bad node name", Start("n1", "no de"), "nodes[1]: \"no de\" is not a valid node name: use 1 to 255 letters, digits, dots, hyphens and underscores");
        yield return Case("no definition", new StartTaskRequest { Nodes = { "n1" } }, "taskDefinition: is required: \"family\" or \"family:revision\"");
        yield return Case("a malformed constraint", With(Start("n1"), r => r.PlacementConstraints.Add(new PlacementConstraint { Type = "memberOf", Expression = "attribute:zone == " })),
            "placementConstraints[0].expression: expected a value after '==' but found end of expression at position 19");
        yield return Case("propagating the service's tags", With(Start("n1"), r => r.PropagateTags = "SERVICE"), "propagateTags: must be \"TASK_DEFINITION\" or \"NONE\" for StartTask, not \"SERVICE\"");
        yield return Case("an override of a missing container", With(Start("n1"), r => r.Overrides = new TaskOverride { ContainerOverrides = { new ContainerOverride { Name = "x" } } }),
            "overrides.containerOverrides[0].name: no container named \"x\" in web:1");
    }

    [TestCaseSource(nameof(BadRequests))]
    public async Task<string> A_bad_request_is_refused_with_the_field(StartTaskRequest request)
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var refused = Refused(() => Host.Tasks.StartTaskAsync(request).ResponseAsync);
        Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        return refused.Status.Detail;
    }
}
