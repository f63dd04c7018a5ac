using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// The defaults that follow ECS's (each beside the explicit filter that asks for the rest), and
/// DeleteTaskDefinitions.
/// </summary>
internal sealed class EcsDefaultsTests : SchedulerTest
{
    private ServiceService.ServiceServiceClient Services => new(Host.Channel);

    private async Task<List<string>> TaskIdsAsync(ListTasksRequest request) =>
        [.. (await Host.Tasks.ListTasksAsync(request)).TaskIds.Order(StringComparer.Ordinal)];

    private async Task<List<string>> NodeNamesAsync(ListNodesRequest request) =>
        [.. (await Host.Nodes.ListNodesAsync(request)).Nodes.Select(n => n.Name)];

    private async Task<List<string>> RevisionsAsync(ListTaskDefinitionsRequest request) =>
        [.. (await Host.TaskDefinitions.ListTaskDefinitionsAsync(request)).TaskDefinitionArns];

    private async Task<List<string>> ServiceNamesAsync(string strategy = "") =>
        [.. (await Services.ListServicesAsync(new ListServicesRequest { SchedulingStrategy = strategy })).ServiceNames];

    private async Task<TaskDefinition> DefinitionAsync(string reference) =>
        (await Host.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = reference })).TaskDefinition;

    private Task DeregisterAsync(string reference) =>
        Host.TaskDefinitions.DeregisterTaskDefinitionAsync(new DeregisterTaskDefinitionRequest { TaskDefinition = reference }).ResponseAsync;

    private Task<DeleteTaskDefinitionsResponse> DeleteAsync(params string[] references) =>
        Host.TaskDefinitions.DeleteTaskDefinitionsAsync(new DeleteTaskDefinitionsRequest { TaskDefinitions = { references } }).ResponseAsync;

    /// <summary>Fake time in 5 s steps, each with an acknowledged heartbeat so the agent stays connected.</summary>
    private async Task AdvanceAsync(TimeSpan span, SimulatedAgent agent)
    {
        for (var passed = TimeSpan.Zero; passed < span; passed += TimeSpan.FromSeconds(5))
        {
            Host.Clock.Advance(TimeSpan.FromSeconds(5));
            await agent.HeartbeatAsync();
        }
    }

    /// <summary>A task of <paramref name="reference"/> that the agent reports RUNNING.</summary>
    private async Task<string> RunningTaskAsync(SimulatedAgent agent, string reference)
    {
        var id = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = reference })).Tasks.Single().TaskId;
        Assert.That((await agent.NextCommandAsync()).StartTask.TaskId, Is.EqualTo(id));
        await agent.ReportAsync(id, TaskStatus.Running);
        return id;
    }

    [Test]
    public async Task ListTasks_lists_desired_RUNNING_by_default_and_both_only_when_asked()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        var running = await RunningTaskAsync(agent, "web");
        var stopped = await RunningTaskAsync(agent, "web");
        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = stopped });
        await agent.NextCommandAsync();
        await agent.ReportAsync(stopped, TaskStatus.Stopped, exitCode: 143);

        var byDefault = await TaskIdsAsync(new ListTasksRequest());
        var runningOnly = await TaskIdsAsync(new ListTasksRequest { DesiredStatus = TaskStatus.Running });
        var stoppedOnly = await TaskIdsAsync(new ListTasksRequest { DesiredStatus = TaskStatus.Stopped });
        var all = await TaskIdsAsync(new ListTasksRequest { IncludeAllStatuses = true });
        var allDespiteStatus = await TaskIdsAsync(new ListTasksRequest { IncludeAllStatuses = true, DesiredStatus = TaskStatus.Stopped });
        Assert.Multiple(() =>
        {
            Assert.That(byDefault, Is.EqualTo(new[] { running }));
            Assert.That(runningOnly, Is.EqualTo(new[] { running }));
            Assert.That(stoppedOnly, Is.EqualTo(new[] { stopped }));
            Assert.That(all, Is.EqualTo(new[] { running, stopped }.Order(StringComparer.Ordinal)));
            Assert.That(allDespiteStatus, Is.EqualTo(all), "includeAllStatuses wins over desiredStatus");
        });
    }

    [Test]
    public async Task ListNodes_leaves_INACTIVE_nodes_out_unless_asked_for()
    {
        await using var active = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        await using var draining = await SimulatedAgent.ConnectAsync(Host.Agents, "b");
        await using var gone = await SimulatedAgent.ConnectAsync(Host.Agents, "c");
        await Host.Nodes.UpdateNodeStatusAsync(new UpdateNodeStatusRequest { Name = "b", Status = NodeStatus.Draining });
        var deregistered = (await Host.Nodes.DeregisterNodeAsync(new DeregisterNodeRequest { Name = "c" })).Node;

        var byDefault = await NodeNamesAsync(new ListNodesRequest());
        var inactive = await NodeNamesAsync(new ListNodesRequest { Status = NodeStatus.Inactive });
        var activeOnly = await NodeNamesAsync(new ListNodesRequest { Status = NodeStatus.Active });
        var drainingOnly = await NodeNamesAsync(new ListNodesRequest { Status = NodeStatus.Draining });
        var all = await NodeNamesAsync(new ListNodesRequest { IncludeAllStatuses = true });
        var described = await NodeAsync("c");
        Assert.Multiple(() =>
        {
            Assert.That(deregistered.Status, Is.EqualTo(NodeStatus.Inactive));
            Assert.That(byDefault, Is.EqualTo(new[] { "a", "b" }));
            Assert.That(inactive, Is.EqualTo(new[] { "c" }));
            Assert.That(activeOnly, Is.EqualTo(new[] { "a" }));
            Assert.That(drainingOnly, Is.EqualTo(new[] { "b" }));
            Assert.That(all, Is.EqualTo(new[] { "a", "b", "c" }));
            Assert.That(described.Status, Is.EqualTo(NodeStatus.Inactive), "an INACTIVE node can still be described by name");
        });
    }

    [Test]
    public async Task ListTaskDefinitions_takes_familyPrefix_as_the_exact_family_unless_matchFamilyPrefix()
    {
        await RegisterAsync(WebDefinition("web"));
        await RegisterAsync(WebDefinition("web"));
        await RegisterAsync(WebDefinition("web-admin"));
        await RegisterAsync(WebDefinition("worker"));

        var exact = await RevisionsAsync(new ListTaskDefinitionsRequest { FamilyPrefix = "web" });
        var partialExact = await RevisionsAsync(new ListTaskDefinitionsRequest { FamilyPrefix = "we" });
        var prefixed = await RevisionsAsync(new ListTaskDefinitionsRequest { FamilyPrefix = "web", MatchFamilyPrefix = true });
        var shortPrefix = await RevisionsAsync(new ListTaskDefinitionsRequest { FamilyPrefix = "w", MatchFamilyPrefix = true });
        var every = await RevisionsAsync(new ListTaskDefinitionsRequest());
        Assert.Multiple(() =>
        {
            Assert.That(exact, Is.EqualTo(new[] { "web:1", "web:2" }), "not web-admin");
            Assert.That(partialExact, Is.Empty, "no family is called \"we\"");
            Assert.That(prefixed, Is.EqualTo(new[] { "web:1", "web:2", "web-admin:1" }));
            Assert.That(shortPrefix, Is.EqualTo(new[] { "web:1", "web:2", "web-admin:1", "worker:1" }));
            Assert.That(every, Is.EqualTo(shortPrefix));
        });
    }

    [Test]
    public async Task DeleteCluster_answers_the_cluster_INACTIVE_and_it_is_gone()
    {
        await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { Name = "dev" });
        var deleted = (await Host.Clusters.DeleteClusterAsync(new DeleteClusterRequest { Name = "dev" })).Cluster;
        var described = await Host.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Names = { "dev", "default" } });
        Assert.Multiple(() =>
        {
            Assert.That((deleted.Name, deleted.Status), Is.EqualTo(("dev", "INACTIVE")));
            Assert.That(described.Clusters.Select(c => (c.Name, c.Status)), Is.EqualTo(new[] { ("default", "ACTIVE") }));
            Assert.That(described.Failures.Select(f => (f.Subject, f.Reason)), Is.EqualTo(new[] { ("dev", "MISSING") }));
        });
    }

    private static IEnumerable<TestCaseData> EmptyDescribes()
    {
        yield return new TestCaseData("nodes", (Func<SchedulerHost, string, Task>)((host, cluster) => host.Nodes.DescribeNodesAsync(new DescribeNodesRequest { Cluster = cluster }).ResponseAsync), "names: name at least one node").SetName("DescribeNodes");
        yield return new TestCaseData("tasks", (Func<SchedulerHost, string, Task>)((host, cluster) => host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = cluster }).ResponseAsync), "tasks: name at least one task id").SetName("DescribeTasks");
        yield return new TestCaseData("services", (Func<SchedulerHost, string, Task>)((host, cluster) => new ServiceService.ServiceServiceClient(host.Channel).DescribeServicesAsync(new DescribeServicesRequest { Cluster = cluster }).ResponseAsync), "services: name at least one service").SetName("DescribeServices");
    }

    [TestCaseSource(nameof(EmptyDescribes))]
    public void An_unknown_cluster_is_NOT_FOUND_before_an_empty_list_is_INVALID_ARGUMENT(string what, Func<SchedulerHost, string, Task> describe, string emptyDetail)
    {
        var unknownCluster = Refused(() => describe(Host, "nosuch"));
        var knownCluster = Refused(() => describe(Host, "default"));
        Assert.Multiple(() =>
        {
            Assert.That((unknownCluster.StatusCode, unknownCluster.Status.Detail), Is.EqualTo((StatusCode.NotFound, "cluster: cluster \"nosuch\" does not exist")), what);
            Assert.That((knownCluster.StatusCode, knownCluster.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, emptyDetail)), what);
        });
    }

    [TestCase("nosuch:abc", StatusCode.InvalidArgument, "taskDefinition: \"nosuch:abc\" is not \"family\" or \"family:revision\" with a revision of 1 or more")]
    [TestCase("web:0", StatusCode.InvalidArgument, "taskDefinition: \"web:0\" is not \"family\" or \"family:revision\" with a revision of 1 or more")]
    [TestCase("nosuch:1", StatusCode.NotFound, "taskDefinition: task definition family \"nosuch\" does not exist")]
    [TestCase("nosuch", StatusCode.NotFound, "taskDefinition: task definition family \"nosuch\" does not exist")]
    [TestCase("web:7", StatusCode.NotFound, "taskDefinition: task definition \"web:7\" does not exist (latest revision is 1)")]
    public async Task A_references_syntax_is_checked_before_its_family_is_looked_up(string reference, StatusCode code, string detail)
    {
        await RegisterAsync();
        var described = Refused(() => DefinitionAsync(reference));
        var run = Refused(() => Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = reference }).ResponseAsync);
        Assert.Multiple(() =>
        {
            Assert.That((described.StatusCode, described.Status.Detail), Is.EqualTo((code, detail)), "DescribeTaskDefinition");
            Assert.That(run.StatusCode, Is.EqualTo(code), "RunTask");
        });
    }

    [Test]
    public async Task ListServices_filters_by_scheduling_strategy()
    {
        await RegisterAsync();
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 0 });
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "api", TaskDefinition = "web", DesiredCount = 0, SchedulingStrategy = "REPLICA" });
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "edge", TaskDefinition = "web", SchedulingStrategy = "DAEMON" });

        var both = await ServiceNamesAsync();
        var replica = await ServiceNamesAsync("REPLICA");
        var daemon = await ServiceNamesAsync("DAEMON");
        var refused = Refused(() => ServiceNamesAsync("daemon"));
        Assert.Multiple(() =>
        {
            Assert.That(both, Is.EqualTo(new[] { "api", "edge", "web" }));
            Assert.That(replica, Is.EqualTo(new[] { "api", "web" }));
            Assert.That(daemon, Is.EqualTo(new[] { "edge" }));
            Assert.That((refused.StatusCode, refused.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "schedulingStrategy: must be \"REPLICA\" or \"DAEMON\", not \"daemon\"")));
        });
    }

    [Test]
    public async Task An_unused_inactive_revision_is_deleted_at_once_and_its_number_never_comes_back()
    {
        await RegisterAsync();
        await RegisterAsync();
        await DeregisterAsync("web:2");
        var answer = await DeleteAsync("web:2");

        var gone = Refused(() => DefinitionAsync("web:2"));
        var listed = await RevisionsAsync(new ListTaskDefinitionsRequest { IncludeAllStatuses = true });
        var deleting = await RevisionsAsync(new ListTaskDefinitionsRequest { Status = TaskDefinitionStatus.DeleteInProgress });
        var next = await RegisterAsync();
        Assert.Multiple(() =>
        {
            Assert.That(answer.TaskDefinitions.Select(d => (d.TaskDefinitionArn, d.Status)), Is.EqualTo(new[] { ("web:2", TaskDefinitionStatus.DeleteInProgress) }));
            Assert.That(answer.Failures, Is.Empty);
            Assert.That((gone.StatusCode, gone.Status.Detail), Is.EqualTo((StatusCode.NotFound, "taskDefinition: task definition \"web:2\" was deleted")));
            Assert.That(listed, Is.EqualTo(new[] { "web:1" }));
            Assert.That(deleting, Is.Empty, "gone, not waiting");
            Assert.That(next.TaskDefinitionArn, Is.EqualTo("web:3"), "2 is not given out again");
        });
    }

    [Test]
    public async Task A_family_whose_every_revision_is_deleted_is_gone_but_its_numbers_are_kept()
    {
        await RegisterAsync(WebDefinition("solo"));
        await RegisterAsync(WebDefinition("other"));
        await DeregisterAsync("solo:1");
        await DeleteAsync("solo:1");

        var families = await Host.TaskDefinitions.ListTaskDefinitionFamiliesAsync(new ListTaskDefinitionFamiliesRequest());
        var gone = Refused(() => DefinitionAsync("solo"));
        var again = await RegisterAsync(WebDefinition("solo"));
        Assert.Multiple(() =>
        {
            Assert.That(families.Families, Is.EqualTo(new[] { "other" }));
            Assert.That((gone.StatusCode, gone.Status.Detail), Is.EqualTo((StatusCode.NotFound, "taskDefinition: task definition family \"solo\" does not exist")));
            Assert.That(again.TaskDefinitionArn, Is.EqualTo("solo:2"));
        });
    }

    [Test]
    public async Task An_ACTIVE_or_unknown_revision_fails_on_its_own_while_the_others_in_the_call_are_deleted()
    {
        await RegisterAsync();
        await RegisterAsync();
        await DeregisterAsync("web:1");
        var answer = await DeleteAsync("web:2", "web:1", "web:9", "nosuch:1");

        var active = await DefinitionAsync("web:2");
        var deleted = Refused(() => DefinitionAsync("web:1"));
        Assert.Multiple(() =>
        {
            Assert.That(answer.TaskDefinitions.Select(d => (d.TaskDefinitionArn, d.Status)), Is.EqualTo(new[] { ("web:1", TaskDefinitionStatus.DeleteInProgress) }));
            Assert.That(answer.Failures.Select(f => (f.Subject, f.Reason)), Is.EquivalentTo(new[] { ("web:2", "ACTIVE"), ("web:9", "MISSING"), ("nosuch:1", "MISSING") }));
            Assert.That(answer.Failures.Single(f => f.Reason == "ACTIVE").Detail, Is.EqualTo("task definition \"web:2\" is ACTIVE; deregister it first"));
            Assert.That(active.Status, Is.EqualTo(TaskDefinitionStatus.Active), "the ACTIVE revision is untouched");
            Assert.That(deleted.StatusCode, Is.EqualTo(StatusCode.NotFound));
        });
    }

    private static IEnumerable<TestCaseData> BadDeletes()
    {
        yield return new TestCaseData(Array.Empty<string>(), "taskDefinitions: name at least one revision, \"family:revision\"").SetName("DeleteTaskDefinitions of nothing");
        yield return new TestCaseData(new[] { "web:1", "web" }, "taskDefinitions[1]: \"web\" must name a revision, \"family:revision\"").SetName("DeleteTaskDefinitions of a family without revision");
        yield return new TestCaseData(new[] { "web:x" }, "taskDefinitions[0]: \"web:x\" must name a revision, \"family:revision\"").SetName("DeleteTaskDefinitions of a revision that is no number");
        yield return new TestCaseData(new[] { "web:1", ":3" }, "taskDefinitions[1]: \":3\" must name a revision, \"family:revision\"").SetName("DeleteTaskDefinitions without a family");
        yield return new TestCaseData(Enumerable.Range(1, 11).Select(i => $"web:{i}").ToArray(), "taskDefinitions: at most 10 allowed, got 11").SetName("DeleteTaskDefinitions of 11 revisions");
    }

    [TestCaseSource(nameof(BadDeletes))]
    public async Task A_bad_delete_request_is_refused_whole_naming_the_item(string[] references, string detail)
    {
        await RegisterAsync();
        await DeregisterAsync("web:1");
        var error = Refused(() => DeleteAsync(references));
        var untouched = await DefinitionAsync("web:1");
        Assert.Multiple(() =>
        {
            Assert.That((error.StatusCode, error.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, detail)));
            Assert.That(untouched.Status, Is.EqualTo(TaskDefinitionStatus.Inactive), "nothing of a refused call is done");
        });
    }

    [Test]
    public async Task A_revision_in_use_stays_DELETE_IN_PROGRESS_until_its_last_task_stops_and_the_pruner_runs()
    {
        await RegisterAsync();
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        var task = await RunningTaskAsync(agent, "web:1");
        await DeregisterAsync("web:1");
        var answer = await DeleteAsync("web:1");
        var again = await DeleteAsync("web:1");

        await AdvanceAsync(TimeSpan.FromSeconds(70), agent);
        var waiting = await DefinitionAsync("web:1");
        var deleting = await RevisionsAsync(new ListTaskDefinitionsRequest { Status = TaskDefinitionStatus.DeleteInProgress });
        var inactive = await RevisionsAsync(new ListTaskDefinitionsRequest { Status = TaskDefinitionStatus.Inactive });
        var all = await RevisionsAsync(new ListTaskDefinitionsRequest { IncludeAllStatuses = true });
        var stillRunning = await DescribeAsync(task);
        var refused = Refused(() => Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web:1" }).ResponseAsync);

        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = task });
        await agent.NextCommandAsync();
        await agent.ReportAsync(task, TaskStatus.Stopped, exitCode: 143);
        await AdvanceAsync(TimeSpan.FromSeconds(65), agent);
        await EventuallyAsync(async () => (await RevisionsAsync(new ListTaskDefinitionsRequest { IncludeAllStatuses = true })).SequenceEqual(["web:2"]), "the revision is deleted");
        var gone = Refused(() => DefinitionAsync("web:1"));
        var stoppedTask = await DescribeAsync(task);
        Assert.Multiple(() =>
        {
            Assert.That(answer.TaskDefinitions.Single().Status, Is.EqualTo(TaskDefinitionStatus.DeleteInProgress));
            Assert.That(again.TaskDefinitions.Select(d => (d.TaskDefinitionArn, d.Status)), Is.EqualTo(new[] { ("web:1", TaskDefinitionStatus.DeleteInProgress) }), "asking twice answers the same");
            Assert.That(waiting.Status, Is.EqualTo(TaskDefinitionStatus.DeleteInProgress), "a running task holds it past a pruner pass");
            Assert.That(deleting, Is.EqualTo(new[] { "web:1" }));
            Assert.That(inactive, Is.Empty);
            Assert.That(all, Is.EqualTo(new[] { "web:1", "web:2" }));
            Assert.That((stillRunning.LastStatus, stillRunning.DesiredStatus), Is.EqualTo((TaskStatus.Running, TaskStatus.Running)), "its task keeps running");
            Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition), "but no new task of it starts");
            Assert.That(gone.StatusCode, Is.EqualTo(StatusCode.NotFound));
            Assert.That(stoppedTask.TaskDefinitionArn, Is.EqualTo("web:1"), "the stopped task still names its revision");
        });
    }

    [Test]
    public async Task A_revision_a_service_deployment_uses_is_kept_until_the_service_is_gone()
    {
        await RegisterAsync();
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web:1", DesiredCount = 0 });
        await DeregisterAsync("web:1");
        await DeleteAsync("web:1");
        await AdvanceAsync(TimeSpan.FromSeconds(65), agent);
        var held = await DefinitionAsync("web:1");

        await Services.DeleteServiceAsync(new DeleteServiceRequest { Service = "web" });
        await AdvanceAsync(TimeSpan.FromSeconds(65), agent);
        await EventuallyAsync(async () => (await RevisionsAsync(new ListTaskDefinitionsRequest { IncludeAllStatuses = true })).SequenceEqual(["web:2"]), "the revision is deleted");
        Assert.That(held.Status, Is.EqualTo(TaskDefinitionStatus.DeleteInProgress), "held by the service's deployment, without any task");
    }

    [Test]
    public async Task Deletions_survive_a_scheduler_restart_done_or_waiting()
    {
        await RegisterAsync();
        await RegisterAsync();
        var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        var task = await RunningTaskAsync(agent, "web:1");
        await DeregisterAsync("web:1");
        await DeregisterAsync("web:2");
        await DeleteAsync("web:1", "web:2");
        await agent.DisposeAsync();

        RestartScheduler();
        var waiting = await DefinitionAsync("web:1");
        var deleted = Refused(() => DefinitionAsync("web:2"));
        var next = await RegisterAsync();
        await using var back = await SimulatedAgent.ConnectAsync(Host.Agents, "a", running: [SimulatedAgent.Report(task, TaskStatus.Running)]);
        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = task });
        await back.NextCommandAsync();
        await back.ReportAsync(task, TaskStatus.Stopped, exitCode: 143);
        await AdvanceAsync(TimeSpan.FromSeconds(65), back);
        await EventuallyAsync(async () => (await RevisionsAsync(new ListTaskDefinitionsRequest { IncludeAllStatuses = true })).SequenceEqual(["web:3"]), "web:1 is deleted after the restart too");
        Assert.Multiple(() =>
        {
            Assert.That(waiting.Status, Is.EqualTo(TaskDefinitionStatus.DeleteInProgress));
            Assert.That((deleted.StatusCode, deleted.Status.Detail), Is.EqualTo((StatusCode.NotFound, "taskDefinition: task definition \"web:2\" was deleted")));
            Assert.That(next.TaskDefinitionArn, Is.EqualTo("web:3"), "the deleted number is not reused after a restart either");
        });
    }
}
