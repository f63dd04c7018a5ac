using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// TargetGroupService in process, and services' load balancers and deployment controller as
/// CreateService and UpdateService take, check and answer them.
/// </summary>
internal sealed class TargetGroupApiTests : SchedulerTest
{
    private TargetGroupService.TargetGroupServiceClient Groups => new(Host.Channel);

    private ServiceService.ServiceServiceClient Services => new(Host.Channel);

    private async Task<TargetGroup> CreateGroupAsync(string name = "web-tg", int port = 8080, string protocol = "") =>
        (await Groups.CreateTargetGroupAsync(new CreateTargetGroupRequest { Name = name, Port = port, Protocol = protocol })).TargetGroup;

    private static CreateServiceRequest WebService(params LoadBalancer[] loadBalancers) =>
        new() { ServiceName = "web", TaskDefinition = "web", DesiredCount = 0, LoadBalancers = { loadBalancers } };

    private static LoadBalancer Balancer(string targetGroup = "web-tg", string container = "app", int port = 80) =>
        new() { TargetGroup = targetGroup, ContainerName = container, ContainerPort = port };

    [Test]
    public async Task A_created_group_is_answered_with_its_defaults_and_again_for_the_same_request()
    {
        var created = await CreateGroupAsync();
        var again = await CreateGroupAsync();
        var other = Refused(() => Groups.CreateTargetGroupAsync(new CreateTargetGroupRequest { Name = "web-tg", Port = 8080, DeregistrationDelaySeconds = 5 }).ResponseAsync);
        var port = Refused(() => CreateGroupAsync("api-tg", 8080));
        Assert.Multiple(() =>
        {
            Assert.That((created.Name, created.Protocol, created.Port, created.DeregistrationDelaySeconds), Is.EqualTo(("web-tg", "HTTP", 8080, 30)));
            Assert.That(created.HealthCheck, Is.EqualTo(new TargetGroupHealthCheck
            {
                Protocol = "HTTP", Path = "/", Matcher = "200", IntervalSeconds = 5, TimeoutSeconds = 2, HealthyThreshold = 2, UnhealthyThreshold = 2,
            }));
            Assert.That(created.CreatedAt, Is.Not.Null);
            Assert.That(again, Is.EqualTo(created), "the same request answers the group that exists, as ELB does");
            Assert.That((other.StatusCode, other.Status.Detail), Is.EqualTo((StatusCode.AlreadyExists, "name: target group \"web-tg\" exists already with other settings")));
            Assert.That((port.StatusCode, port.Status.Detail), Is.EqualTo((StatusCode.AlreadyExists, "port: port 8080 is used by target group \"web-tg\"")));
        });
    }

    [Test]
    public async Task A_bad_request_is_invalid_naming_the_field()
    {
        var refused = Refused(() => Groups.CreateTargetGroupAsync(new CreateTargetGroupRequest
        {
            Name = "web", Port = 80, HealthCheck = new TargetGroupHealthCheck { Matcher = "2xx" },
        }).ResponseAsync);
        var listed = await Groups.ListTargetGroupsAsync(new ListTargetGroupsRequest());
        Assert.Multiple(() =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
            Assert.That(refused.Status.Detail, Does.StartWith("healthCheck.matcher: \"2xx\" is not a list of HTTP codes"));
            Assert.That(listed.Names, Is.Empty);
        });
    }

    [Test]
    public async Task Describe_answers_the_names_asked_with_a_failure_for_each_missing_one_or_all_when_none_is_named()
    {
        await CreateGroupAsync("b-tg", 8081);
        await CreateGroupAsync("a-tg", 8080, "TCP");
        var named = await Groups.DescribeTargetGroupsAsync(new DescribeTargetGroupsRequest { Names = { "b-tg", "nope", "a-tg" } });
        var all = await Groups.DescribeTargetGroupsAsync(new DescribeTargetGroupsRequest());
        var bad = Refused(() => Groups.DescribeTargetGroupsAsync(new DescribeTargetGroupsRequest { Names = { "ok", "no_underscores" } }).ResponseAsync);
        Assert.Multiple(() =>
        {
            Assert.That(named.TargetGroups.Select(g => g.Name), Is.EqualTo(new[] { "b-tg", "a-tg" }));
            Assert.That(named.Failures.Select(f => (f.Subject, f.Reason, f.Detail)), Is.EqualTo(new[] { ("nope", "MISSING", "target group \"nope\" does not exist") }));
            Assert.That(all.TargetGroups.Select(g => (g.Name, g.Protocol, g.HealthCheck.Protocol, g.HealthCheck.Path)), Is.EqualTo(new[] { ("a-tg", "TCP", "TCP", ""), ("b-tg", "HTTP", "HTTP", "/") }));
            Assert.That((bad.StatusCode, bad.Status.Detail.Split(':')[0]), Is.EqualTo((StatusCode.InvalidArgument, "names[1]")));
        });
    }

    [Test]
    public async Task List_pages_by_name()
    {
        foreach (var (name, i) in new[] { "c", "a", "e", "b", "d" }.Select((n, i) => (n, i)))
        {
            await CreateGroupAsync(name, 9000 + i);
        }

        var first = await Groups.ListTargetGroupsAsync(new ListTargetGroupsRequest { MaxResults = 2 });
        var second = await Groups.ListTargetGroupsAsync(new ListTargetGroupsRequest { MaxResults = 2, NextToken = first.NextToken });
        var third = await Groups.ListTargetGroupsAsync(new ListTargetGroupsRequest { MaxResults = 2, NextToken = second.NextToken });
        var tooMany = Refused(() => Groups.ListTargetGroupsAsync(new ListTargetGroupsRequest { MaxResults = 1001 }).ResponseAsync);
        Assert.Multiple(() =>
        {
            Assert.That(new[] { first.Names, second.Names, third.Names }.Select(n => string.Join(",", n)), Is.EqualTo(new[] { "a,b", "c,d", "e" }));
            Assert.That(third.NextToken, Is.Empty);
            Assert.That((tooMany.StatusCode, tooMany.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "maxResults: must be between 1 and 1000, not 1001")));
        });
    }

    [Test]
    public async Task A_group_a_service_names_shows_it_and_is_not_deleted_until_the_service_is_gone()
    {
        await RegisterAsync();
        await CreateGroupAsync();
        var service = (await Services.CreateServiceAsync(WebService(Balancer()))).Service;
        var described = (await Groups.DescribeTargetGroupsAsync(new DescribeTargetGroupsRequest { Names = { "web-tg" } })).TargetGroups.Single();
        var refused = Refused(() => Groups.DeleteTargetGroupAsync(new DeleteTargetGroupRequest { Name = "web-tg" }).ResponseAsync);

        await Services.DeleteServiceAsync(new DeleteServiceRequest { Service = "web" });
        await EventuallyAsync(async () => (await Services.ListServicesAsync(new ListServicesRequest())).ServiceNames.Count == 0, "the service is gone");
        var deleted = (await Groups.DeleteTargetGroupAsync(new DeleteTargetGroupRequest { Name = "web-tg" })).TargetGroup;
        var missing = Refused(() => Groups.DeleteTargetGroupAsync(new DeleteTargetGroupRequest { Name = "web-tg" }).ResponseAsync);
        Assert.Multiple(() =>
        {
            Assert.That(service.LoadBalancers, Is.EqualTo(new[] { Balancer() }));
            Assert.That(service.DeploymentController.Type, Is.EqualTo("ECS"));
            Assert.That(described.Services, Is.EqualTo(new[] { "default/web" }));
            Assert.That((refused.StatusCode, refused.Status.Detail), Is.EqualTo((StatusCode.FailedPrecondition,
                "name: target group \"web-tg\" is used by the services \"default/web\"; delete them or create them without it first")));
            Assert.That(deleted.Name, Is.EqualTo("web-tg"));
            Assert.That((missing.StatusCode, missing.Status.Detail), Is.EqualTo((StatusCode.NotFound, "name: target group \"web-tg\" does not exist")));
        });
    }

    [Test]
    public async Task Groups_and_a_services_load_balancers_survive_a_restart()
    {
        await RegisterAsync();
        var created = await CreateGroupAsync();
        await Services.CreateServiceAsync(WebService(Balancer()));
        RestartScheduler();
        var group = (await Groups.DescribeTargetGroupsAsync(new DescribeTargetGroupsRequest())).TargetGroups.Single();
        var service = (await Services.DescribeServicesAsync(new DescribeServicesRequest { Services = { "web" } })).Services.Single();
        Assert.Multiple(() =>
        {
            Assert.That(group, Is.EqualTo(created.Clone().Also(g => g.Services.Add("default/web"))));
            Assert.That(service.LoadBalancers, Is.EqualTo(new[] { Balancer() }));
        });
    }

    private static IEnumerable<TestCaseData> BadLoadBalancers()
    {
        TestCaseData Case(string name, CreateServiceRequest request, string detail) => new TestCaseData(request, detail).SetName(name);
        yield return Case("six load balancers",
            WebService(Balancer("a"), Balancer("b"), Balancer("c"), Balancer("d"), Balancer("e"), Balancer("f")),
            "loadBalancers: at most 5 load balancers per service, not 6");
        yield return Case("a target group that does not exist", WebService(Balancer("nope")), "loadBalancers[0].targetGroup: target group \"nope\" does not exist");
        yield return Case("a bad target group name", WebService(Balancer("no_way")),
            "loadBalancers[0].targetGroup: \"no_way\" is not a valid target group name: use 1 to 32 letters, digits and hyphens, not starting or ending with a hyphen");
        yield return Case("the same target group twice", WebService(Balancer(), Balancer(port: 80)),
            "loadBalancers[1].targetGroup: target group \"web-tg\" is named already by loadBalancers[0]: a service registers in a target group once");
        yield return Case("no container name", WebService(Balancer(container: "")), "loadBalancers[0].containerName: is required: the container whose port is registered");
        yield return Case("a container not in the definition", WebService(Balancer(container: "db")),
            "loadBalancers[0].containerName: task definition web:1 has no container \"db\"; its containers: app");
        yield return Case("a port the container does not map", WebService(Balancer(port: 81)),
            "loadBalancers[0].containerPort: container \"app\" of task definition web:1 maps no TCP containerPort 81; it maps 80");
        yield return Case("port 0", WebService(Balancer(port: 0)), "loadBalancers[0].containerPort: must be between 1 and 65535, not 0");
        yield return Case("an unknown controller", new CreateServiceRequest(WebService()) { DeploymentController = new DeploymentController { Type = "CODE_DEPLOY" } },
            "deploymentController.type: must be \"ECS\" or \"EXTERNAL\", not \"CODE_DEPLOY\"");
        yield return Case("a DAEMON with the EXTERNAL controller",
            new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", SchedulingStrategy = "DAEMON", DeploymentController = new DeploymentController { Type = "EXTERNAL" } },
            "deploymentController.type: a DAEMON service rolls out with the ECS controller: task sets (EXTERNAL) need the REPLICA strategy");
        yield return Case("an ECS service without a task definition", new CreateServiceRequest { ServiceName = "web", DeploymentController = new DeploymentController { Type = "ECS" } },
            "taskDefinition: is required: \"family\" or \"family:revision\"");
        yield return Case("an EXTERNAL service with overrides",
            new CreateServiceRequest { ServiceName = "web", DeploymentController = new DeploymentController { Type = "EXTERNAL" }, Overrides = new TaskOverride() },
            "overrides: an EXTERNAL service's tasks run as its task sets define them: it takes no overrides");
    }

    [TestCaseSource(nameof(BadLoadBalancers))]
    public async Task A_service_with_bad_load_balancers_or_controller_is_refused_naming_the_field(CreateServiceRequest request, string detail)
    {
        await RegisterAsync();
        await CreateGroupAsync();
        var refused = Refused(() => Services.CreateServiceAsync(request).ResponseAsync);
        var listed = await Services.ListServicesAsync(new ListServicesRequest());
        Assert.Multiple(() =>
        {
            Assert.That((refused.StatusCode, refused.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, detail)));
            Assert.That(listed.ServiceNames, Is.Empty, "nothing was created");
        });
    }

    [Test]
    public async Task A_UDP_mapping_is_not_a_port_to_balance()
    {
        var definition = WebDefinition();
        definition.ContainerDefinitions[0].PortMappings[0].Protocol = TransportProtocol.Udp;
        await RegisterAsync(definition);
        await CreateGroupAsync();
        var refused = Refused(() => Services.CreateServiceAsync(WebService(Balancer())).ResponseAsync);
        Assert.That(refused.Status.Detail, Is.EqualTo("loadBalancers[0].containerPort: container \"app\" of task definition web:1 maps no TCP port; add a portMapping with containerPort 80"));
    }

    [Test]
    public async Task A_DAEMON_service_takes_load_balancers()
    {
        await RegisterAsync();
        await CreateGroupAsync();
        var service = (await Services.CreateServiceAsync(new CreateServiceRequest
        {
            ServiceName = "web", TaskDefinition = "web", SchedulingStrategy = "DAEMON", LoadBalancers = { Balancer() },
        })).Service;
        Assert.That(service.LoadBalancers, Is.EqualTo(new[] { Balancer() }));
    }

    [Test]
    public async Task A_new_task_definition_must_still_map_every_load_balancers_port()
    {
        await RegisterAsync();
        await RegisterAsync(WebDefinition().Also(d => d.ContainerDefinitions[0].PortMappings[0].ContainerPort = 8080));
        await CreateGroupAsync();
        await Services.CreateServiceAsync(WebService(Balancer()).Also(r => r.TaskDefinition = "web:1"));
        var refused = Refused(() => Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", TaskDefinition = "web:2" }).ResponseAsync);
        var service = (await Services.DescribeServicesAsync(new DescribeServicesRequest { Services = { "web" } })).Services.Single();
        Assert.Multiple(() =>
        {
            Assert.That((refused.StatusCode, refused.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument,
                "taskDefinition: does not fit the service's loadBalancers[0] (target group \"web-tg\"): container \"app\" of task definition web:2 maps no TCP containerPort 80; it maps 8080")));
            Assert.That((service.TaskDefinition, service.Deployments.Count), Is.EqualTo(("web:1", 1)), "no deployment started");
        });
    }

    [Test]
    public async Task An_EXTERNAL_service_needs_no_task_definition_and_deploys_only_through_task_sets()
    {
        await CreateGroupAsync();
        var created = (await Services.CreateServiceAsync(new CreateServiceRequest
        {
            ServiceName = "web", DesiredCount = 4, DeploymentController = new DeploymentController { Type = "EXTERNAL" }, LoadBalancers = { Balancer() },
        })).Service;
        await RegisterAsync();
        var definition = Refused(() => Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", TaskDefinition = "web" }).ResponseAsync);
        var forced = Refused(() => Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", ForceNewDeployment = true }).ResponseAsync);
        var scaled = (await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 6 })).Service;
        Host.Clock.Advance(TimeSpan.FromSeconds(2)); // reconcile passes: an EXTERNAL service starts nothing by itself
        var tasks = await Host.Tasks.ListTasksAsync(new ListTasksRequest { IncludeAllStatuses = true });
        await Services.DeleteServiceAsync(new DeleteServiceRequest { Service = "web", Force = true });
        await EventuallyAsync(async () => (await Services.ListServicesAsync(new ListServicesRequest())).ServiceNames.Count == 0, "the deleted service is gone");
        Assert.Multiple(() =>
        {
            Assert.That((created.DeploymentController.Type, created.TaskDefinition, created.DesiredCount, created.Deployments.Count), Is.EqualTo(("EXTERNAL", "", 4, 0)));
            Assert.That(created.LoadBalancers, Is.EqualTo(new[] { Balancer() }), "its load balancers are checked against the task sets' definitions");
            Assert.That((definition.StatusCode, definition.Status.Detail), Is.EqualTo((StatusCode.FailedPrecondition,
                "taskDefinition: service \"web\" has the EXTERNAL deployment controller: it deploys through its task sets; use task sets (CreateTaskSet, UpdateServicePrimaryTaskSet) instead")));
            Assert.That((forced.StatusCode, forced.Status.Detail.Split(':')[0]), Is.EqualTo((StatusCode.FailedPrecondition, "forceNewDeployment")));
            Assert.That(scaled.DesiredCount, Is.EqualTo(6));
            Assert.That(tasks.TaskIds, Is.Empty);
        });
    }

    [Test]
    public async Task A_balancer_token_may_call_nothing_but_the_balancers_stream()
    {
        var created = await new TokenService.TokenServiceClient(Host.Channel).CreateTokenAsync(new CreateTokenRequest { Name = "lb1", Role = "balancer" });
        var channel = Host.ChannelWith(created.Secret);
        var tasks = Refused(() => new TaskService.TaskServiceClient(channel).ListTasksAsync(new ListTasksRequest()).ResponseAsync);
        var groups = Refused(() => new TargetGroupService.TargetGroupServiceClient(channel).ListTargetGroupsAsync(new ListTargetGroupsRequest()).ResponseAsync);
        Assert.Multiple(() =>
        {
            Assert.That(created.Token.Role, Is.EqualTo("balancer"));
            foreach (var refused in new[] { tasks, groups })
            {
                Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
                Assert.That(refused.Status.Detail, Does.EndWith("is a balancer token, which may only call BalancerService").And.Not.Contain(created.Secret));
            }
        });
    }

    [Test]
    public async Task A_read_only_token_lists_target_groups_and_cannot_create_them()
    {
        var reader = (await new TokenService.TokenServiceClient(Host.Channel).CreateTokenAsync(new CreateTokenRequest { Name = "r", Role = "read-only" })).Secret;
        var groups = new TargetGroupService.TargetGroupServiceClient(Host.ChannelWith(reader));
        var listed = await groups.ListTargetGroupsAsync(new ListTargetGroupsRequest());
        var refused = Refused(() => groups.CreateTargetGroupAsync(new CreateTargetGroupRequest { Name = "x", Port = 80 }).ResponseAsync);
        Assert.Multiple(() =>
        {
            Assert.That(listed.Names, Is.Empty);
            Assert.That(refused.Status.Detail, Does.StartWith("orchestrator.v1.TargetGroupService/CreateTargetGroup needs the operator role"));
        });
    }
}

internal static class TargetGroupTestExtensions
{
    public static T Also<T>(this T value, Action<T> change)
    {
        change(value);
        return value;
    }
}
