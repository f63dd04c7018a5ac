using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>Tags (TagService, tags on create, propagateTags) over the real API.</summary>
internal sealed class TagTests : SchedulerTest
{
    private const string Missing = "0123456789abcdef0123456789abcdef";

    private TagService.TagServiceClient Tags => new(Host.Channel);
    private ServiceService.ServiceServiceClient Services => new(Host.Channel);

    private static Tag T(string key, string value = "") => new() { Key = key, Value = value };

    private static IEnumerable<Tag> Many(int count, string prefix = "t") => Enumerable.Range(0, count).Select(i => T($"{prefix}{i}", $"v{i}"));

    /// <summary>Tags as "key=value", in the order given.</summary>
    private static List<string> Pairs(IEnumerable<Tag> tags) => [.. tags.Select(t => $"{t.Key}={t.Value}")];

    private async Task<List<string>> TagsOfAsync(string arn) =>
        Pairs((await Tags.ListTagsForResourceAsync(new ListTagsForResourceRequest { ResourceArn = arn })).Tags);

    private Task TagAsync(string arn, params Tag[] tags) =>
        Tags.TagResourceAsync(new TagResourceRequest { ResourceArn = arn, Tags = { tags } }).ResponseAsync;

    private Task<Service> DescribeServiceAsync(string name, string cluster = "default") =>
        Services.DescribeServicesAsync(new DescribeServicesRequest { Cluster = cluster, Services = { name } }).ResponseAsync.ContinueWith(t => t.Result.Services.Single());

    private async Task<List<Contracts.V1.Task>> LiveTasksAsync(string service = "web")
    {
        var ids = (await Host.Tasks.ListTasksAsync(new ListTasksRequest { Service = service, DesiredStatus = TaskStatus.Running })).TaskIds;
        return ids.Count == 0 ? [] : [.. (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { ids } })).Tasks];
    }

    private static RegisterTaskDefinitionRequest Tagged(RegisterTaskDefinitionRequest request, params Tag[] tags)
    {
        request.Tags.Add(tags);
        return request;
    }

    /// <summary>One resource of each kind, all in cluster "prod", each with tags of its own.</summary>
    private sealed record Fixture(SimulatedAgent Agent, string TaskId, RegisterTaskDefinitionResponse Definition, Cluster Cluster, Service Service, Contracts.V1.Task Task)
    {
        public string TaskArn => $"task/prod/{TaskId}";
        public IEnumerable<string> Arns => ["cluster/prod", "task-definition/web:1", "service/prod/api", TaskArn, "node/prod/n1"];
    }

    private async Task<Fixture> OneOfEachAsync()
    {
        var cluster = (await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { Name = "prod", Tags = { T("env", "prod"), T("cost-center", "42") } })).Cluster;
        var definition = await Host.TaskDefinitions.RegisterTaskDefinitionAsync(Tagged(WebDefinition(), T("app", "web")));
        var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", cluster: "prod");
        var service = (await Services.CreateServiceAsync(new CreateServiceRequest { Cluster = "prod", ServiceName = "api", TaskDefinition = "web", Tags = { T("tier", "front") } })).Service;
        var task = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { Cluster = "prod", TaskDefinition = "web", Tags = { T("job", "batch 7"), T("owner", "me@example.com") } })).Tasks.Single();
        await TagAsync("node/prod/n1", T("rack", "r1"));
        return new Fixture(agent, task.TaskId, definition, cluster, service, task);
    }

    [Test]
    public async Task Tags_given_on_create_are_shown_on_each_resource_and_listed_for_all_five_kinds()
    {
        var f = await OneOfEachAsync();
        await using var agent = f.Agent;
        var describedCluster = (await Host.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Names = { "prod" } })).Clusters.Single();
        var describedDefinition = await Host.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = "web:1" });
        var describedService = await DescribeServiceAsync("api", "prod");
        var describedTask = await DescribeAsync(f.TaskId, "prod");
        var node = await NodeAsync("n1", "prod");
        var untaggedDefault = (await Host.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Names = { "default" } })).Clusters.Single();

        Assert.Multiple(async () =>
        {
            Assert.That(Pairs(f.Cluster.Tags), Is.EqualTo(new[] { "cost-center=42", "env=prod" }), "by key");
            Assert.That(Pairs(describedCluster.Tags), Is.EqualTo(new[] { "cost-center=42", "env=prod" }));
            Assert.That(await TagsOfAsync("cluster/prod"), Is.EqualTo(new[] { "cost-center=42", "env=prod" }));

            Assert.That(Pairs(f.Definition.Tags), Is.EqualTo(new[] { "app=web" }));
            Assert.That(Pairs(describedDefinition.Tags), Is.EqualTo(new[] { "app=web" }));
            Assert.That(await TagsOfAsync("task-definition/web:1"), Is.EqualTo(new[] { "app=web" }));

            Assert.That(Pairs(f.Service.Tags), Is.EqualTo(new[] { "tier=front" }));
            Assert.That(Pairs(describedService.Tags), Is.EqualTo(new[] { "tier=front" }));
            Assert.That(await TagsOfAsync("service/prod/api"), Is.EqualTo(new[] { "tier=front" }));

            Assert.That(Pairs(f.Task.Tags), Is.EqualTo(new[] { "job=batch 7", "owner=me@example.com" }));
            Assert.That(Pairs(describedTask.Tags), Is.EqualTo(new[] { "job=batch 7", "owner=me@example.com" }));
            Assert.That(await TagsOfAsync(f.TaskArn), Is.EqualTo(new[] { "job=batch 7", "owner=me@example.com" }));

            Assert.That(Pairs(node.Tags), Is.EqualTo(new[] { "rack=r1" }));
            Assert.That(await TagsOfAsync("node/prod/n1"), Is.EqualTo(new[] { "rack=r1" }));
            Assert.That(node.Attributes, Is.Empty, "a tag is not an attribute");

            Assert.That(untaggedDefault.Tags, Is.Empty);
            Assert.That(await TagsOfAsync("cluster/default"), Is.Empty);
        });
    }

    [Test]
    public async Task TagResource_adds_and_replaces_and_UntagResource_removes_on_every_kind()
    {
        var f = await OneOfEachAsync();
        await using var agent = f.Agent;
        var before = new Dictionary<string, List<string>>();
        var after = new Dictionary<string, List<string>>();
        foreach (var arn in f.Arns)
        {
            before[arn] = await TagsOfAsync(arn);
            await TagAsync(arn, T("k1", "1"), T("k2", "2"));
            await TagAsync(arn, T("k2", "two"), T("k3", ""));
            await Tags.UntagResourceAsync(new UntagResourceRequest { ResourceArn = arn, TagKeys = { "k1", "never-there" } });
            after[arn] = await TagsOfAsync(arn);
        }

        var cluster = (await Host.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Names = { "prod" } })).Clusters.Single();
        var service = await DescribeServiceAsync("api", "prod");
        var task = await DescribeAsync(f.TaskId, "prod");
        var node = await NodeAsync("n1", "prod");
        var definition = await Host.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = "web:1" });
        await Tags.UntagResourceAsync(new UntagResourceRequest { ResourceArn = "node/prod/n1", TagKeys = { "k2", "k3", "rack" } });
        var emptied = await TagsOfAsync("node/prod/n1");

        Assert.Multiple(() =>
        {
            foreach (var arn in f.Arns)
            {
                var expected = before[arn].Concat(["k2=two", "k3="]).Order(StringComparer.Ordinal);
                Assert.That(after[arn], Is.EqualTo(expected), arn);
            }

            Assert.That(Pairs(cluster.Tags), Is.EqualTo(after["cluster/prod"]), "DescribeClusters");
            Assert.That(Pairs(service.Tags), Is.EqualTo(after["service/prod/api"]), "DescribeServices");
            Assert.That(Pairs(task.Tags), Is.EqualTo(after[f.TaskArn]), "DescribeTasks");
            Assert.That(Pairs(node.Tags), Is.EqualTo(after["node/prod/n1"]), "DescribeNodes");
            Assert.That(Pairs(definition.Tags), Is.EqualTo(after["task-definition/web:1"]), "DescribeTaskDefinition");
            Assert.That(emptied, Is.Empty);
        });
    }

    [Test]
    public async Task RunTask_with_propagateTags_TASK_DEFINITION_gives_the_tasks_the_definitions_tags_under_the_requests_own()
    {
        await RegisterAsync(Tagged(WebDefinition(), T("app", "web"), T("owner", "td")));
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        Task<RunTaskResponse> Run(string propagate, params Tag[] tags) =>
            Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 2, PropagateTags = propagate, Tags = { tags } }).ResponseAsync;

        var merged = await Run("TASK_DEFINITION", T("owner", "me"), T("job", "x"));
        var definitionOnly = await Run("TASK_DEFINITION");
        var none = await Run("NONE", T("job", "y"));
        var unset = await Run("", T("job", "z"));
        var untagged = await Run("");
        var described = await DescribeAsync(merged.Tasks[1].TaskId);
        var definition = await Host.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = "web:1" });

        Assert.Multiple(async () =>
        {
            Assert.That(merged.Tasks.Select(t => Pairs(t.Tags)), Is.All.EqualTo(new[] { "app=web", "job=x", "owner=me" }), "the request's owner wins");
            Assert.That(Pairs(described.Tags), Is.EqualTo(new[] { "app=web", "job=x", "owner=me" }));
            Assert.That(await TagsOfAsync($"task/default/{merged.Tasks[0].TaskId}"), Is.EqualTo(new[] { "app=web", "job=x", "owner=me" }));
            Assert.That(definitionOnly.Tasks.Select(t => Pairs(t.Tags)), Is.All.EqualTo(new[] { "app=web", "owner=td" }));
            Assert.That(none.Tasks.Select(t => Pairs(t.Tags)), Is.All.EqualTo(new[] { "job=y" }));
            Assert.That(unset.Tasks.Select(t => Pairs(t.Tags)), Is.All.EqualTo(new[] { "job=z" }), "empty propagateTags is NONE");
            Assert.That(untagged.Tasks.Select(t => t.Tags.Count), Is.All.EqualTo(0));
            Assert.That(Pairs(definition.Tags), Is.EqualTo(new[] { "app=web", "owner=td" }), "the definition's own tags are untouched");
        });
    }

    [Test]
    public async Task RunTask_refuses_a_propagation_that_would_give_a_task_more_than_50_tags()
    {
        await RegisterAsync(Tagged(WebDefinition(), [.. Many(50)]));
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var refused = Refused(() => Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", PropagateTags = "TASK_DEFINITION", Tags = { T("extra", "1") } }).ResponseAsync);
        var nothing = (await Host.Tasks.ListTasksAsync(new ListTasksRequest())).TaskIds.ToList();
        var fits = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", PropagateTags = "TASK_DEFINITION", Tags = { T("t0", "mine") } })).Tasks.Single();
        Assert.Multiple(() =>
        {
            Assert.That((refused.StatusCode, refused.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "tags: a task has at most 50 tags; with the task definition's this would give it 51")));
            Assert.That(nothing, Is.Empty, "no task was started");
            Assert.That(fits.Tags, Has.Count.EqualTo(50), "a key of the definition's given again is no extra tag");
            Assert.That(Pairs(fits.Tags), Does.Contain("t0=mine"));
        });
    }

    [Test]
    public async Task A_service_with_propagateTags_SERVICE_gives_its_tasks_its_tags_as_they_are_when_each_starts()
    {
        await RegisterAsync(Tagged(WebDefinition(), T("app", "web")));
        await using var a = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        await using var b = await SimulatedAgent.ConnectAsync(Host.Agents, "b");
        a.RunAutomatically();
        b.RunAutomatically();
        var created = (await Services.CreateServiceAsync(new CreateServiceRequest
        {
            ServiceName = "web", TaskDefinition = "web", DesiredCount = 2, PropagateTags = "SERVICE", Tags = { T("svc", "web"), T("team", "a") },
        })).Service;
        await EventuallyAsync(async () => (await DescribeServiceAsync("web")).RunningCount == 2, "two tasks run");
        var first = await LiveTasksAsync();

        await TagAsync("service/default/web", T("team", "b"), T("added", "later"));
        await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 3 });
        await EventuallyAsync(async () => (await DescribeServiceAsync("web")).RunningCount == 3, "three tasks run");
        var all = await LiveTasksAsync();
        var late = all.Single(t => first.All(f => f.TaskId != t.TaskId));
        var earlier = all.Where(t => t.TaskId != late.TaskId);

        Assert.Multiple(() =>
        {
            Assert.That(created.PropagateTags, Is.EqualTo("SERVICE"));
            Assert.That(first.Select(t => Pairs(t.Tags)), Is.All.EqualTo(new[] { "svc=web", "team=a" }), "the service's tags, not the definition's");
            Assert.That(Pairs(late.Tags), Is.EqualTo(new[] { "added=later", "svc=web", "team=b" }), "the service's tags when the task started");
            Assert.That(earlier.Select(t => Pairs(t.Tags)), Is.All.EqualTo(new[] { "svc=web", "team=a" }), "tasks already running keep theirs");
        });
    }

    [Test]
    public async Task A_service_with_propagateTags_TASK_DEFINITION_gives_its_tasks_the_definitions_tags()
    {
        await RegisterAsync(Tagged(WebDefinition(), T("app", "web"), T("owner", "td")));
        await using var a = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        await using var b = await SimulatedAgent.ConnectAsync(Host.Agents, "b");
        a.RunAutomatically();
        b.RunAutomatically();
        var created = (await Services.CreateServiceAsync(new CreateServiceRequest
        {
            ServiceName = "web", TaskDefinition = "web", DesiredCount = 2, PropagateTags = "TASK_DEFINITION", Tags = { T("svc", "web") },
        })).Service;
        await EventuallyAsync(async () => (await DescribeServiceAsync("web")).RunningCount == 2, "two tasks run");
        var tasks = await LiveTasksAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(created.PropagateTags, Is.EqualTo("TASK_DEFINITION"));
            Assert.That(Pairs(created.Tags), Is.EqualTo(new[] { "svc=web" }));
            Assert.That(tasks.Select(t => Pairs(t.Tags)), Is.All.EqualTo(new[] { "app=web", "owner=td" }));
            Assert.That(await TagsOfAsync($"task/default/{tasks[0].TaskId}"), Is.EqualTo(new[] { "app=web", "owner=td" }));
        });
    }

    [Test]
    public async Task UpdateService_changes_propagateTags_for_the_tasks_it_starts_afterwards()
    {
        await RegisterAsync(Tagged(WebDefinition(), T("app", "web")));
        await using var a = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        a.RunAutomatically();
        var created = (await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 1, Tags = { T("svc", "web") } })).Service;
        await EventuallyAsync(async () => (await DescribeServiceAsync("web")).RunningCount == 1, "one task runs");
        var first = (await LiveTasksAsync()).Single();

        var updated = (await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 2, PropagateTags = "SERVICE" })).Service;
        await EventuallyAsync(async () => (await DescribeServiceAsync("web")).RunningCount == 2, "two tasks run");
        var second = (await LiveTasksAsync()).Single(t => t.TaskId != first.TaskId);
        var kept = (await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 2 })).Service;

        Assert.Multiple(() =>
        {
            Assert.That(created.PropagateTags, Is.EqualTo("NONE"), "NONE unless asked");
            Assert.That(first.Tags, Is.Empty);
            Assert.That(updated.PropagateTags, Is.EqualTo("SERVICE"));
            Assert.That(Pairs(second.Tags), Is.EqualTo(new[] { "svc=web" }));
            Assert.That(kept.PropagateTags, Is.EqualTo("SERVICE"), "an update without propagateTags keeps it");
        });
    }

    [Test]
    public async Task Fifty_tags_fit_on_a_resource_a_51st_does_not_but_a_new_value_for_a_key_it_has_does()
    {
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        await TagAsync("node/default/n1", [.. Many(30)]);
        await TagAsync("node/default/n1", [.. Many(20, "u")]);
        var refused = Refused(() => TagAsync("node/default/n1", T("t0", "new"), T("extra", "x")));
        var unchanged = await TagsOfAsync("node/default/n1");
        await TagAsync("node/default/n1", T("t0", "new"), T("u19", "new"));
        var replaced = await TagsOfAsync("node/default/n1");
        Assert.Multiple(() =>
        {
            Assert.That((refused.StatusCode, refused.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "tags: a resource has at most 50 tags; this would give it 51")));
            Assert.That(unchanged, Has.Count.EqualTo(50));
            Assert.That(unchanged, Does.Contain("t0=v0"), "not even the replaced value of the refused call was kept");
            Assert.That(unchanged, Does.Not.Contain("extra=x"));
            Assert.That(replaced, Has.Count.EqualTo(50));
            Assert.That(replaced, Does.Contain("t0=new").And.Contain("u19=new"));
        });
    }

    [Test]
    public async Task Tags_survive_a_scheduler_restart()
    {
        var f = await OneOfEachAsync();
        await TagAsync("node/prod/n1", T("row", "7"));
        await Tags.UntagResourceAsync(new UntagResourceRequest { ResourceArn = "node/prod/n1", TagKeys = { "rack" } });
        await TagAsync("task-definition/web:1", T("app", "web2"));
        await TagAsync(f.TaskArn, T("later", "yes"));
        await f.Agent.DisposeAsync();
        var before = new Dictionary<string, List<string>>();
        foreach (var arn in f.Arns)
        {
            before[arn] = await TagsOfAsync(arn);
        }

        RestartScheduler();
        var after = new Dictionary<string, List<string>>();
        foreach (var arn in f.Arns)
        {
            after[arn] = await TagsOfAsync(arn);
        }

        var service = await DescribeServiceAsync("api", "prod");
        var task = await DescribeAsync(f.TaskId, "prod");
        var node = await NodeAsync("n1", "prod");
        Assert.Multiple(() =>
        {
            Assert.That(after, Is.EqualTo(before));
            Assert.That(after["node/prod/n1"], Is.EqualTo(new[] { "row=7" }), "the untag was saved too");
            Assert.That(after["task-definition/web:1"], Is.EqualTo(new[] { "app=web2" }));
            Assert.That(after[f.TaskArn], Is.EqualTo(new[] { "job=batch 7", "later=yes", "owner=me@example.com" }));
            Assert.That(after["cluster/prod"], Is.EqualTo(new[] { "cost-center=42", "env=prod" }));
            Assert.That(after["service/prod/api"], Is.EqualTo(new[] { "tier=front" }));
            Assert.That(Pairs(service.Tags), Is.EqualTo(new[] { "tier=front" }));
            Assert.That(Pairs(task.Tags), Is.EqualTo(after[f.TaskArn]));
            Assert.That(Pairs(node.Tags), Is.EqualTo(new[] { "row=7" }));
        });
    }

    internal sealed record Clients(TagService.TagServiceClient Tags, ServiceService.ServiceServiceClient Services, SchedulerHost Host, string TaskId);

    internal sealed record BadTagCall(string Name, Func<Clients, Task> Call, StatusCode Status, string Field, string Problem)
    {
        public override string ToString() => Name;
    }

    private static BadTagCall TagCase(string name, string arn, StatusCode status, string field, string problem, params Tag[] tags) =>
        new(name, c => c.Tags.TagResourceAsync(new TagResourceRequest { ResourceArn = arn, Tags = { tags } }).ResponseAsync, status, field, problem);

    private static IEnumerable<BadTagCall> BadCalls()
    {
        const StatusCode invalid = StatusCode.InvalidArgument;
        const StatusCode missing = StatusCode.NotFound;
        var ok = T("fine", "yes");

        // Limits
        yield return TagCase("A 51st tag on a resource with 50", "node/prod/n1", invalid, "tags", "a resource has at most 50 tags; this would give it 51", T("t49", "x"));
        yield return TagCase("51 tags in one call", "cluster/prod", invalid, "tags", "at most 50 tags per resource, got 51", [.. Many(51)]);
        yield return TagCase("No tags", "cluster/prod", invalid, "tags", "give at least one tag");
        yield return TagCase("A key of 129 characters", "cluster/prod", invalid, "tags[1].key", "must be at most 128 characters, not 129", ok, T(new string('k', 129), "v"));
        yield return TagCase("An empty key", "service/prod/api", invalid, "tags[1].key", "a tag key is required", ok, T("", "v"));
        yield return TagCase("A value of 257 characters", "task-definition/web:1", invalid, "tags[1].value", "must be at most 256 characters, not 257", ok, T("k", new string('v', 257)));
        yield return TagCase("A bad character in a key", "cluster/prod", invalid, "tags[0].key", "has a character tag keys cannot have", T("a#b", "v"));
        yield return TagCase("A bad character in a value", "cluster/prod", invalid, "tags[1].value", "has a character tags cannot have", ok, T("k", "x<y"));
        yield return TagCase("A reserved key", "cluster/prod", invalid, "tags[1].key", "keys starting with \"orchestrator:\" are reserved", ok, T("orchestrator:owner", "me"));
        yield return TagCase("A reserved key in capitals", "cluster/prod", invalid, "tags[0].key", "keys starting with \"orchestrator:\" are reserved", T("ORCHESTRATOR:owner", "me"));
        yield return TagCase("A key given twice", "cluster/prod", invalid, "tags[1].key", "\"fine\" is given twice", ok, T("fine", "no"));

        // Resources that do not exist
        yield return TagCase("An unknown cluster", "cluster/nope", missing, "resourceArn", "cluster \"nope\" does not exist", ok);
        yield return TagCase("An unknown task definition family", "task-definition/nope:1", missing, "resourceArn", "task definition family \"nope\" does not exist", ok);
        yield return TagCase("An unknown task definition revision", "task-definition/web:9", missing, "resourceArn", "task definition \"web:9\" does not exist", ok);
        yield return TagCase("An unknown service", "service/prod/nope", missing, "resourceArn", "service \"nope\" does not exist in cluster \"prod\"", ok);
        yield return TagCase("A service of an unknown cluster", "service/nope/api", missing, "resourceArn", "cluster \"nope\" does not exist", ok);
        yield return TagCase("An unknown task", $"task/prod/{Missing}", missing, "resourceArn", $"task \"{Missing}\" does not exist in cluster \"prod\"", ok);
        yield return new("A task named in another cluster", c => c.Tags.TagResourceAsync(new TagResourceRequest { ResourceArn = $"task/default/{c.TaskId}", Tags = { ok } }).ResponseAsync,
            missing, "resourceArn", "does not exist in cluster \"default\"");
        yield return TagCase("An unknown node", "node/prod/n9", missing, "resourceArn", "node \"n9\" does not exist in cluster \"prod\"", ok);
        yield return new("Untag an unknown service", c => c.Tags.UntagResourceAsync(new UntagResourceRequest { ResourceArn = "service/prod/nope", TagKeys = { "tier" } }).ResponseAsync,
            missing, "resourceArn", "service \"nope\" does not exist in cluster \"prod\"");
        yield return new("List the tags of an unknown node", c => c.Tags.ListTagsForResourceAsync(new ListTagsForResourceRequest { ResourceArn = "node/prod/n9" }).ResponseAsync,
            missing, "resourceArn", "node \"n9\" does not exist in cluster \"prod\"");

        // Malformed resource names
        yield return TagCase("No resource", "", invalid, "resourceArn", "is required", ok);
        yield return TagCase("A kind alone", "cluster", invalid, "resourceArn", "names no resource", ok);
        yield return TagCase("An unknown kind", "bucket/prod", invalid, "resourceArn", "names no resource", ok);
        yield return TagCase("Too many parts", "cluster/prod/extra", invalid, "resourceArn", "names no resource", ok);
        yield return TagCase("A full AWS ARN", "arn:aws:ecs:us-east-1:123456789012:cluster/prod", invalid, "resourceArn", "names no resource", ok);
        yield return TagCase("An empty cluster name", "cluster/", invalid, "resourceArn", "cluster name is required", ok);
        yield return TagCase("A task definition without a revision", "task-definition/web", invalid, "resourceArn", "must be \"task-definition/FAMILY:REVISION\"", ok);
        yield return TagCase("A task definition with a bad revision", "task-definition/web:x", invalid, "resourceArn", "is not \"family\" or \"family:revision\"", ok);
        yield return TagCase("A bad task id", "task/prod/xyz", invalid, "resourceArn", "is not a task id", ok);
        yield return TagCase("A bad node name", "node/prod/n 1", invalid, "resourceArn", "is not a valid node name", ok);
        yield return new("Untag a malformed resource", c => c.Tags.UntagResourceAsync(new UntagResourceRequest { ResourceArn = "service/api", TagKeys = { "tier" } }).ResponseAsync,
            invalid, "resourceArn", "names no resource");
        yield return new("List the tags of a malformed resource", c => c.Tags.ListTagsForResourceAsync(new ListTagsForResourceRequest { ResourceArn = "node/n1" }).ResponseAsync,
            invalid, "resourceArn", "names no resource");

        // Untag
        yield return new("Untag without keys", c => c.Tags.UntagResourceAsync(new UntagResourceRequest { ResourceArn = "cluster/prod" }).ResponseAsync,
            invalid, "tagKeys", "give at least one tag key");
        yield return new("Untag a reserved key", c => c.Tags.UntagResourceAsync(new UntagResourceRequest { ResourceArn = "cluster/prod", TagKeys = { "env", "orchestrator:x" } }).ResponseAsync,
            invalid, "tagKeys[1]", "are reserved");

        // Tags and propagateTags where resources are created
        yield return new("CreateCluster with a reserved tag", c => c.Host.Clusters.CreateClusterAsync(new CreateClusterRequest { Name = "other", Tags = { T("orchestrator:x", "1") } }).ResponseAsync,
            invalid, "tags[0].key", "are reserved");
        yield return new("RegisterTaskDefinition with 51 tags", c => c.Host.TaskDefinitions.RegisterTaskDefinitionAsync(Tagged(WebDefinition(), [.. Many(51)])).ResponseAsync,
            invalid, "tags", "at most 50 tags per resource, got 51");
        yield return new("CreateService with a bad value", c => c.Services.CreateServiceAsync(new CreateServiceRequest { Cluster = "prod", ServiceName = "other", TaskDefinition = "web", Tags = { T("k", "a|b") } }).ResponseAsync,
            invalid, "tags[0].value", "has a character tags cannot have");
        yield return new("CreateService with propagateTags ALL", c => c.Services.CreateServiceAsync(new CreateServiceRequest { Cluster = "prod", ServiceName = "other", TaskDefinition = "web", PropagateTags = "ALL" }).ResponseAsync,
            invalid, "propagateTags", "must be \"SERVICE\", \"TASK_DEFINITION\" or \"NONE\", not \"ALL\"");
        yield return new("UpdateService with propagateTags TASK", c => c.Services.UpdateServiceAsync(new UpdateServiceRequest { Cluster = "prod", Service = "api", DesiredCount = 1, PropagateTags = "TASK" }).ResponseAsync,
            invalid, "propagateTags", "not \"TASK\"");
        yield return new("RunTask with a key given twice", c => c.Host.Tasks.RunTaskAsync(new RunTaskRequest { Cluster = "prod", TaskDefinition = "web", Tags = { T("k", "1"), T("k", "2") } }).ResponseAsync,
            invalid, "tags[1].key", "\"k\" is given twice");
        yield return new("RunTask with propagateTags SERVICE", c => c.Host.Tasks.RunTaskAsync(new RunTaskRequest { Cluster = "prod", TaskDefinition = "web", PropagateTags = "SERVICE" }).ResponseAsync,
            invalid, "propagateTags", "must be \"TASK_DEFINITION\" or \"NONE\" for RunTask, not \"SERVICE\"");
    }

    [TestCaseSource(nameof(BadCalls))]
    public async Task Bad_tag_calls_are_refused_naming_the_field_and_change_nothing(BadTagCall bad)
    {
        var f = await OneOfEachAsync();
        await using var agent = f.Agent;
        await TagAsync("node/prod/n1", [.. Many(49)]);
        var before = await StateAsync(f);

        var error = Refused(() => bad.Call(new Clients(Tags, Services, Host, f.TaskId)));

        var after = await StateAsync(f);
        Assert.Multiple(() =>
        {
            Assert.That(error.StatusCode, Is.EqualTo(bad.Status));
            Assert.That(error.Status.Detail, Does.StartWith(bad.Field + ": "));
            Assert.That(error.Status.Detail, Does.Contain(bad.Problem));
            Assert.That(after, Is.EqualTo(before), "nothing changed");
        });
    }

    /// <summary>The tags of the fixture's resources and everything a user can list or describe of them.</summary>
    private async Task<string> StateAsync(Fixture f)
    {
        var lines = new List<string>();
        foreach (var arn in f.Arns)
        {
            lines.Add($"{arn}: {string.Join(", ", await TagsOfAsync(arn))}");
        }

        lines.Add((await Host.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Names = { (await Host.Clusters.ListClustersAsync(new ListClustersRequest())).Names } })).ToString());
        lines.Add((await Host.TaskDefinitions.ListTaskDefinitionsAsync(new ListTaskDefinitionsRequest { IncludeAllStatuses = true })).ToString());
        foreach (var cluster in new[] { "default", "prod" })
        {
            lines.Add((await Host.Tasks.ListTasksAsync(new ListTasksRequest { Cluster = cluster })).ToString());
            lines.Add((await Services.ListServicesAsync(new ListServicesRequest { Cluster = cluster })).ToString());
        }

        lines.Add((await Services.DescribeServicesAsync(new DescribeServicesRequest { Cluster = "prod", Services = { "api" } })).ToString());
        lines.Add((await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = "prod", Tasks = { f.TaskId } })).ToString());
        lines.Add((await NodeAsync("n1", "prod")).ToString());
        return string.Join("\n", lines);
    }
}
