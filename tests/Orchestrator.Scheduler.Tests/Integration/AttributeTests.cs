using Grpc.Core;
using Orchestrator.Contracts.V1;
using Attribute = Orchestrator.Contracts.V1.Attribute;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>Custom node attributes (PutAttributes, DeleteAttributes, ListAttributes) over the real API.</summary>
internal sealed class AttributeTests : SchedulerTest
{
    private ServiceService.ServiceServiceClient Services => new(Host.Channel);

    private static Attribute Attr(string name, string value = "", string node = "n1", string targetType = "") =>
        new() { Name = name, Value = value, TargetId = node, TargetType = targetType };

    private Task<PutAttributesResponse> PutAsync(params Attribute[] attributes) =>
        Host.Nodes.PutAttributesAsync(new PutAttributesRequest { Attributes = { attributes } }).ResponseAsync;

    private Task<DeleteAttributesResponse> DeleteAsync(params Attribute[] attributes) =>
        Host.Nodes.DeleteAttributesAsync(new DeleteAttributesRequest { Attributes = { attributes } }).ResponseAsync;

    /// <summary>Every attribute the request lists, following the pages, as "node/name=value".</summary>
    private async Task<List<string>> ListAsync(ListAttributesRequest? request = null)
    {
        request ??= new ListAttributesRequest();
        var all = new List<string>();
        while (true)
        {
            var page = await Host.Nodes.ListAttributesAsync(request);
            Assert.That(page.Attributes.Select(a => a.TargetType), Is.All.EqualTo("node"));
            all.AddRange(page.Attributes.Select(Text));
            if (page.NextToken.Length == 0)
            {
                return all;
            }

            request = request.Clone();
            request.NextToken = page.NextToken;
        }
    }

    private static string Text(Attribute a) => $"{a.TargetId}/{a.Name}={a.Value}";

    private static Dictionary<string, string> Map(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    private Task<RunTaskResponse> RunOnAsync(string expression, int count = 1) =>
        Host.Tasks.RunTaskAsync(new RunTaskRequest
        {
            TaskDefinition = "web",
            Count = count,
            PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = expression } },
        }).ResponseAsync;

    private async Task<List<Contracts.V1.Task>> ServiceTasksAsync(TaskStatus desired)
    {
        var ids = (await Host.Tasks.ListTasksAsync(new ListTasksRequest { Service = "gpu", DesiredStatus = desired })).TaskIds;
        return ids.Count == 0 ? [] : [.. (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { ids } })).Tasks];
    }

    [Test]
    public async Task Put_attributes_show_in_DescribeNodes_and_in_ListAttributes_with_every_filter()
    {
        // n2 registers first: the listing is by node name all the same.
        await using var n2 = await SimulatedAgent.ConnectAsync(Host.Agents, "n2", attributes: Map(("zone", "b")));
        await using var n1 = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", attributes: Map(("zone", "a")));
        var put = await PutAsync(
            Attr("rack", "r1"),
            Attr("gpu", "", targetType: "node"),
            Attr("rack", "r2", node: "n2", targetType: "container-instance"),
            Attr("owner", "ops@example.com: team 7/a\\b", node: "n2"));

        var node1 = await NodeAsync("n1");
        var node2 = await NodeAsync("n2");
        var all = await ListAsync();
        Assert.Multiple(async () =>
        {
            Assert.That(put.Attributes.Select(a => (Text(a), a.TargetType)), Is.EqualTo(new[]
            {
                ("n1/rack=r1", "node"), ("n1/gpu=", "node"), ("n2/rack=r2", "node"), ("n2/owner=ops@example.com: team 7/a\\b", "node"),
            }));
            Assert.That(node1.Attributes, Is.EquivalentTo(Map(("zone", "a"), ("rack", "r1"), ("gpu", ""))));
            Assert.That(node1.CustomAttributes, Is.EquivalentTo(Map(("rack", "r1"), ("gpu", ""))));
            Assert.That(node2.Attributes, Is.EquivalentTo(Map(("zone", "b"), ("rack", "r2"), ("owner", "ops@example.com: team 7/a\\b"))));
            Assert.That(node2.CustomAttributes, Is.EquivalentTo(Map(("rack", "r2"), ("owner", "ops@example.com: team 7/a\\b"))));

            Assert.That(all, Is.EqualTo(new[] { "n1/gpu=", "n1/rack=r1", "n1/zone=a", "n2/owner=ops@example.com: team 7/a\\b", "n2/rack=r2", "n2/zone=b" }),
                "the agents' attributes and the custom ones, by node then name");
            Assert.That(await ListAsync(new ListAttributesRequest { AttributeName = "rack" }), Is.EqualTo(new[] { "n1/rack=r1", "n2/rack=r2" }));
            Assert.That(await ListAsync(new ListAttributesRequest { AttributeName = "rack", AttributeValue = "r2" }), Is.EqualTo(new[] { "n2/rack=r2" }));
            Assert.That(await ListAsync(new ListAttributesRequest { AttributeName = "zone", AttributeValue = "a" }), Is.EqualTo(new[] { "n1/zone=a" }), "an agent's attribute by value");
            Assert.That(await ListAsync(new ListAttributesRequest { AttributeName = "zone", AttributeValue = "c" }), Is.Empty);
            Assert.That(await ListAsync(new ListAttributesRequest { TargetId = "n2" }), Is.EqualTo(new[] { "n2/owner=ops@example.com: team 7/a\\b", "n2/rack=r2", "n2/zone=b" }));
            Assert.That(await ListAsync(new ListAttributesRequest { TargetId = "n1", AttributeName = "gpu" }), Is.EqualTo(new[] { "n1/gpu=" }));
            Assert.That(await ListAsync(new ListAttributesRequest { TargetId = "n3" }), Is.Empty, "an unknown node has no attributes");
            Assert.That(await ListAsync(new ListAttributesRequest { TargetType = "node" }), Is.EqualTo(all));
            Assert.That(await ListAsync(new ListAttributesRequest { TargetType = "container-instance" }), Is.EqualTo(all));

            var first = await Host.Nodes.ListAttributesAsync(new ListAttributesRequest { MaxResults = 4 });
            Assert.That(first.Attributes.Select(Text), Is.EqualTo(all.Take(4)));
            Assert.That(first.NextToken, Is.Not.Empty);
            Assert.That(await ListAsync(new ListAttributesRequest { MaxResults = 1 }), Is.EqualTo(all), "page by page, one at a time");
        });
    }

    [Test]
    public async Task A_put_value_replaces_the_old_one_and_a_delete_answers_what_it_removed()
    {
        await using var n1 = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        await PutAsync(Attr("rack", "r1"), Attr("row", "7"));
        await PutAsync(Attr("rack", "r2"));
        var replaced = (await NodeAsync("n1")).CustomAttributes.ToDictionary();
        var deleted = await DeleteAsync(Attr("rack", "whatever the value"), Attr("never-set"));
        var node = await NodeAsync("n1");
        Assert.Multiple(() =>
        {
            Assert.That(replaced, Is.EquivalentTo(Map(("rack", "r2"), ("row", "7"))));
            Assert.That(deleted.Attributes.Select(Text), Is.EqualTo(new[] { "n1/rack=r2" }), "the value is ignored; an attribute the node lacks is no error");
            Assert.That(node.CustomAttributes, Is.EquivalentTo(Map(("row", "7"))));
            Assert.That(node.Attributes, Is.EquivalentTo(Map(("row", "7"))));
        });
    }

    [Test]
    public async Task MemberOf_placement_follows_a_put_and_a_delete_at_once()
    {
        await RegisterAsync();
        await using var n1 = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        await using var n2 = await SimulatedAgent.ConnectAsync(Host.Agents, "n2");

        var before = await RunOnAsync("attribute:rack == r1");
        await PutAsync(Attr("rack", "r1", node: "n2"));
        var onRack = await RunOnAsync("attribute:rack == r1", count: 3);
        var exists = await RunOnAsync("attribute:rack exists", count: 2);
        await DeleteAsync(Attr("rack", node: "n2"));
        var after = await RunOnAsync("attribute:rack == r1");
        await PutAsync(Attr("rack", "r1", node: "n1"));
        var moved = await RunOnAsync("attribute:rack == r1", count: 2);

        Assert.Multiple(() =>
        {
            Assert.That(before.Tasks, Is.Empty);
            Assert.That((before.Failures.Single().Reason, before.Failures.Single().Detail), Is.EqualTo(("CONSTRAINT", "2 nodes: memberOf(attribute:rack == r1)")));
            Assert.That(onRack.Failures, Is.Empty);
            Assert.That(onRack.Tasks.Select(t => t.Node), Is.EqualTo(new[] { "n2", "n2", "n2" }));
            Assert.That(exists.Tasks.Select(t => t.Node), Is.EqualTo(new[] { "n2", "n2" }));
            Assert.That(after.Tasks, Is.Empty, "no node has rack r1 once it is deleted");
            Assert.That((after.Failures.Single().Reason, after.Failures.Single().Detail), Is.EqualTo(("CONSTRAINT", "2 nodes: memberOf(attribute:rack == r1)")));
            Assert.That(moved.Tasks.Select(t => t.Node), Is.EqualTo(new[] { "n1", "n1" }));
        });
    }

    [Test]
    public async Task A_daemon_service_starts_a_task_on_a_node_given_the_attribute_and_stops_it_when_the_attribute_is_deleted()
    {
        await RegisterAsync();
        await using var a = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        await using var b = await SimulatedAgent.ConnectAsync(Host.Agents, "b");
        a.RunAutomatically();
        b.RunAutomatically();
        await Services.CreateServiceAsync(new CreateServiceRequest
        {
            ServiceName = "gpu", TaskDefinition = "web", SchedulingStrategy = "DAEMON",
            PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = "attribute:gpu exists" } },
        });
        var none = await ServiceTasksAsync(TaskStatus.Running);

        // An attribute by name only (empty value) is enough for "exists".
        await PutAsync(Attr("gpu", node: "b"));
        var started = await ServiceTasksAsync(TaskStatus.Running); // no reconcile pass has run: the fake clock has not moved
        await EventuallyAsync(async () => (await ServiceTasksAsync(TaskStatus.Running)).SingleOrDefault()?.LastStatus == TaskStatus.Running, "the daemon task runs on b");
        var service = (await Services.DescribeServicesAsync(new DescribeServicesRequest { Services = { "gpu" } })).Services.Single();

        await DeleteAsync(Attr("gpu", node: "b"));
        var afterDelete = await ServiceTasksAsync(TaskStatus.Running);
        await EventuallyAsync(async () => (await DescribeAsync(started.Single().TaskId)).LastStatus == TaskStatus.Stopped, "the daemon task on b has stopped");
        var stopped = await DescribeAsync(started.Single().TaskId);
        var everything = await ServiceTasksAsync(TaskStatus.Stopped);

        Assert.Multiple(() =>
        {
            Assert.That(none, Is.Empty, "no node has the attribute yet");
            Assert.That(started.Select(t => t.Node), Is.EqualTo(new[] { "b" }), "started by the PutAttributes call itself");
            Assert.That(service.DesiredCount, Is.EqualTo(1));
            Assert.That(afterDelete, Is.Empty, "stopped by the DeleteAttributes call itself");
            Assert.That((stopped.StopCode, stopped.StoppedReason), Is.EqualTo((StopCode.ServiceSchedulerInitiated, "Node no longer runs this daemon")));
            Assert.That(everything.Select(t => t.TaskId), Is.EqualTo(new[] { stopped.TaskId }), "never a task on a");
        });
    }

    [Test]
    public async Task Custom_attributes_survive_a_scheduler_restart_and_a_delete_does_too()
    {
        await RegisterAsync();
        await using (var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", attributes: Map(("zone", "a"))))
        {
            await PutAsync(Attr("rack", "r1"), Attr("row", "7"));
        }

        RestartScheduler();
        var node = await NodeAsync("n1");
        var listed = await ListAsync();
        List<string> placedOn;
        await using (var back = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", attributes: Map(("zone", "a"))))
        {
            placedOn = [.. (await RunOnAsync("attribute:rack == r1 && attribute:row == 7")).Tasks.Select(t => t.Node)];
            await DeleteAsync(Attr("row"));
        }

        RestartScheduler();
        var afterDelete = await NodeAsync("n1");
        Assert.Multiple(() =>
        {
            Assert.That(node.CustomAttributes, Is.EquivalentTo(Map(("rack", "r1"), ("row", "7"))));
            Assert.That(node.Attributes, Is.EquivalentTo(Map(("zone", "a"), ("rack", "r1"), ("row", "7"))));
            Assert.That(listed, Is.EqualTo(new[] { "n1/rack=r1", "n1/row=7", "n1/zone=a" }));
            Assert.That(placedOn, Is.EqualTo(new[] { "n1" }), "placement sees them after the restart");
            Assert.That(afterDelete.CustomAttributes, Is.EquivalentTo(Map(("rack", "r1"))), "the delete was saved too");
            Assert.That(afterDelete.Attributes, Is.EquivalentTo(Map(("zone", "a"), ("rack", "r1"))));
        });
    }

    [Test]
    public async Task Custom_attributes_survive_the_agent_registering_again_with_other_attributes_of_its_own()
    {
        await RegisterAsync();
        var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", attributes: Map(("zone", "a")));
        await PutAsync(Attr("rack", "r1"));
        await agent.DisposeAsync();
        await EventuallyAsync(async () => !(await NodeAsync("n1")).AgentConnected, "n1 is disconnected");

        await using var back = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", attributes: Map(("zone", "b"), ("os", "linux")));
        var node = await NodeAsync("n1");
        var placed = await RunOnAsync("attribute:rack == r1 && attribute:zone == b");
        var oldZone = await RunOnAsync("attribute:zone == a");
        Assert.Multiple(() =>
        {
            Assert.That(back.Registered.Node.CustomAttributes, Is.EquivalentTo(Map(("rack", "r1"))), "in the registration answer");
            Assert.That(node.CustomAttributes, Is.EquivalentTo(Map(("rack", "r1"))));
            Assert.That(node.Attributes, Is.EquivalentTo(Map(("zone", "b"), ("os", "linux"), ("rack", "r1"))), "the agent's own are replaced, the custom ones kept");
            Assert.That(placed.Tasks.Select(t => t.Node), Is.EqualTo(new[] { "n1" }));
            Assert.That(oldZone.Failures.Single().Reason, Is.EqualTo("CONSTRAINT"));
        });
    }

    [Test]
    public async Task The_agents_own_attributes_cannot_be_overwritten_or_deleted()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", attributes: Map(("zone", "a")));
        var overwrite = Refused(() => PutAsync(Attr("rack", "r1"), Attr("zone", "b")));
        var delete = Refused(() => DeleteAsync(Attr("zone")));
        var node = await NodeAsync("n1");
        var placed = await RunOnAsync("attribute:zone == a");
        Assert.Multiple(() =>
        {
            Assert.That((overwrite.StatusCode, overwrite.Status.Detail), Is.EqualTo((StatusCode.FailedPrecondition,
                "attributes[1].name: \"zone\" is an attribute of node \"n1\"'s agent; change it in the agent's settings")));
            Assert.That((delete.StatusCode, delete.Status.Detail), Is.EqualTo((StatusCode.FailedPrecondition,
                "attributes[0].name: \"zone\" is an attribute of node \"n1\"'s agent; it cannot be deleted here")));
            Assert.That(node.Attributes, Is.EquivalentTo(Map(("zone", "a"))), "not even rack, given before it in the same call, was put");
            Assert.That(node.CustomAttributes, Is.Empty);
            Assert.That(placed.Tasks.Select(t => t.Node), Is.EqualTo(new[] { "n1" }));
        });
    }

    internal sealed record BadAttributeCall(string Name, Func<NodeService.NodeServiceClient, Task> Call, StatusCode Status, string Field, string Problem)
    {
        public override string ToString() => Name;
    }

    private static BadAttributeCall Put(string name, StatusCode status, string field, string problem, params Attribute[] attributes) =>
        new(name, nodes => nodes.PutAttributesAsync(new PutAttributesRequest { Attributes = { attributes } }).ResponseAsync, status, field, problem);

    private static BadAttributeCall Delete(string name, StatusCode status, string field, string problem, params Attribute[] attributes) =>
        new(name, nodes => nodes.DeleteAttributesAsync(new DeleteAttributesRequest { Attributes = { attributes } }).ResponseAsync, status, field, problem);

    private static BadAttributeCall List(string name, StatusCode status, string field, string problem, ListAttributesRequest request) =>
        new(name, nodes => nodes.ListAttributesAsync(request).ResponseAsync, status, field, problem);

    /// <summary>
    /// Each against n1 (agent attribute zone=a, ten custom attributes c0..c9) and n2 (none). Where a call
    /// has a good attribute before the bad one, the good one must not be applied either.
    /// </summary>
    private static IEnumerable<BadAttributeCall> BadCalls()
    {
        var ok = Attr("rack", "r1", node: "n2");
        const StatusCode invalid = StatusCode.InvalidArgument;
        yield return Put("Put with no attributes", invalid, "attributes", "give at least one attribute");
        yield return Put("Put of 11 attributes in one call", invalid, "attributes", "at most 10 allowed, got 11", [.. Enumerable.Range(0, 11).Select(i => Attr($"x{i}", node: "n2"))]);
        yield return Put("Put without a name", invalid, "attributes[1].name", "an attribute name is required", ok, Attr("", "v", node: "n2"));
        yield return Put("Put with a 129 character name", invalid, "attributes[1].name", "is not a valid attribute name", ok, Attr(new string('n', 129), node: "n2"));
        yield return Put("Put with a space in the name", invalid, "attributes[0].name", "is not a valid attribute name", Attr("ra ck", node: "n2"));
        yield return Put("Put with a colon in the name", invalid, "attributes[0].name", "is not a valid attribute name", Attr("a:b", node: "n2"));
        yield return Put("Put with a bad character in the value", invalid, "attributes[1].value", "is not a valid attribute value", ok, Attr("row", "r#1", node: "n2"));
        yield return Put("Put with a 129 character value", invalid, "attributes[0].value", "is not a valid attribute value", Attr("row", new string('v', 129), node: "n2"));
        yield return Put("Put with a leading space in the value", invalid, "attributes[0].value", "is not a valid attribute value", Attr("row", " r1", node: "n2"));
        yield return Put("Put with a trailing space in the value", invalid, "attributes[0].value", "is not a valid attribute value", Attr("row", "r1 ", node: "n2"));
        yield return Put("Put with target type task", invalid, "attributes[1].targetType", "must be \"node\", not \"task\"", ok, Attr("row", "1", node: "n2", targetType: "task"));
        yield return Put("Put without a target", invalid, "attributes[0].targetId", "node name is required", Attr("row", "1", node: ""));
        yield return Put("Put with a bad target", invalid, "attributes[0].targetId", "is not a valid node name", Attr("row", "1", node: "n 2"));
        yield return Put("Put on an unknown node", StatusCode.NotFound, "attributes[1].targetId", "node \"n9\" does not exist in cluster \"default\"", ok, Attr("row", "1", node: "n9"));
        yield return Put("Put of an 11th custom attribute", invalid, "attributes[1].name", "node \"n1\" would have 11 custom attributes; at most 10", ok, Attr("c10", node: "n1"));
        yield return Put("Put of the same attribute twice", invalid, "attributes[1].name", "\"rack\" of node \"n2\" is given twice", ok, Attr("rack", "r2", node: "n2"));
        yield return Put("Put over the agent's attribute", StatusCode.FailedPrecondition, "attributes[1].name", "is an attribute of node \"n1\"'s agent", ok, Attr("zone", "b"));
        yield return new("Put in an unknown cluster", nodes => nodes.PutAttributesAsync(new PutAttributesRequest { Cluster = "nope", Attributes = { ok } }).ResponseAsync,
            StatusCode.NotFound, "cluster", "cluster \"nope\" does not exist");
        yield return Delete("Delete with no attributes", invalid, "attributes", "give at least one attribute");
        yield return Delete("Delete on an unknown node", StatusCode.NotFound, "attributes[1].targetId", "node \"n9\" does not exist in cluster \"default\"", Attr("c0"), Attr("c1", node: "n9"));
        yield return Delete("Delete of the agent's attribute", StatusCode.FailedPrecondition, "attributes[1].name", "is an attribute of node \"n1\"'s agent", Attr("c0"), Attr("zone"));
        yield return Delete("Delete with a bad name", invalid, "attributes[1].name", "is not a valid attribute name", Attr("c0"), Attr("c 1"));
        yield return Delete("Delete with target type cluster", invalid, "attributes[0].targetType", "must be \"node\", not \"cluster\"", Attr("c0", targetType: "cluster"));
        yield return List("List by value without a name", invalid, "attributeValue", "needs attributeName", new ListAttributesRequest { AttributeValue = "a" });
        yield return List("List with target type task", invalid, "targetType", "must be \"node\", not \"task\"", new ListAttributesRequest { TargetType = "task" });
        yield return List("List with a bad target", invalid, "targetId", "is not a valid node name", new ListAttributesRequest { TargetId = "n/1" });
        yield return List("List with a negative page", invalid, "maxResults", "must be between 1 and 1000, not -1", new ListAttributesRequest { MaxResults = -1 });
        yield return List("List with a forged token", invalid, "nextToken", "is not a token from a previous page", new ListAttributesRequest { NextToken = "***" });
        yield return List("List in an unknown cluster", StatusCode.NotFound, "cluster", "cluster \"nope\" does not exist", new ListAttributesRequest { Cluster = "nope" });
    }

    [TestCaseSource(nameof(BadCalls))]
    public async Task Bad_attribute_calls_are_refused_naming_the_field_and_change_nothing(BadAttributeCall bad)
    {
        await RegisterAsync();
        await using var n1 = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", attributes: Map(("zone", "a")));
        await using var n2 = await SimulatedAgent.ConnectAsync(Host.Agents, "n2");
        await PutAsync([.. Enumerable.Range(0, 10).Select(i => Attr($"c{i}", $"v{i}"))]);
        var before = await StateAsync();

        var error = Refused(() => bad.Call(Host.Nodes));

        var after = await StateAsync();
        var placed = await RunOnAsync("attribute:rack exists");
        Assert.Multiple(() =>
        {
            Assert.That(error.StatusCode, Is.EqualTo(bad.Status));
            Assert.That(error.Status.Detail, Does.StartWith(bad.Field + ": "));
            Assert.That(error.Status.Detail, Does.Contain(bad.Problem));
            Assert.That(after, Is.EqualTo(before), "the nodes and their attributes are unchanged");
            Assert.That(placed.Tasks, Is.Empty, "placement sees no rack attribute either");
        });
    }

    private async Task<string> StateAsync()
    {
        var nodes = await Host.Nodes.DescribeNodesAsync(new DescribeNodesRequest { Names = { "n1", "n2" } });
        return string.Join("\n", nodes, string.Join(", ", await ListAsync()));
    }
}
