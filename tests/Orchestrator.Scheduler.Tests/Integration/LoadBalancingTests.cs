using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// The balancers' stream, DescribeTargetHealth and service endpoints against a scheduler and simulated
/// agents, everything on 127.0.0.1 (the address the scheduler sees the agents' streams come from).
/// </summary>
internal sealed class LoadBalancingTests : SchedulerTest
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private ServiceService.ServiceServiceClient Services => new(Host.Channel);
    private TargetGroupService.TargetGroupServiceClient TargetGroups => new(Host.Channel);
    private BalancerService.BalancerServiceClient Balancers => new(Host.Channel);

    private Task CreateGroupAsync(string name = "tg", int port = 18080) =>
        TargetGroups.CreateTargetGroupAsync(new CreateTargetGroupRequest { Name = name, Port = port }).ResponseAsync;

    private async Task<AsyncDuplexStreamingCall<BalancerMessage, BalancerAssignment>> HelloAsync(string name = "lb1", params string[] groups)
    {
        var call = Balancers.Connect();
        await call.RequestStream.WriteAsync(new BalancerMessage { Hello = new BalancerHello { Name = name, Version = "test", TargetGroups = { groups } } });
        return call;
    }

    private static async Task<BalancerAssignment> NextAssignmentAsync(AsyncDuplexStreamingCall<BalancerMessage, BalancerAssignment> call)
    {
        using var timeout = new CancellationTokenSource(Patience);
        Assert.That(await call.ResponseStream.MoveNext(timeout.Token), Is.True, "an assignment");
        return call.ResponseStream.Current;
    }

    /// <summary>A service of one task behind target group "tg", its task RUNNING on node "a": the task id and its host port.</summary>
    private async Task<(SimulatedAgent Agent, string TaskId, int HostPort)> RunServiceBehindGroupAsync()
    {
        await RegisterAsync();
        var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        await Services.CreateServiceAsync(new CreateServiceRequest
        {
            ServiceName = "web",
            TaskDefinition = "web",
            DesiredCount = 1,
            LoadBalancers = { new LoadBalancer { TargetGroup = "tg", ContainerName = "app", ContainerPort = 80 } },

            // A task the balancers find unhealthy past the grace period is replaced (and drained): not in these tests.
            HealthCheckGracePeriodSeconds = 3600,
        });
        var taskId = (await agent.NextCommandAsync()).StartTask.TaskId;
        var hostPort = (await DescribeAsync(taskId)).Containers.Single().NetworkBindings.Single().HostPort;
        return (agent, taskId, hostPort);
    }

    [Test]
    public async Task A_balancer_is_sent_its_target_groups_at_once_after_hello()
    {
        await CreateGroupAsync("tg", 18080);
        await CreateGroupAsync("other", 18081);
        using var call = await HelloAsync("lb1", "tg", "not-yet");

        var first = await NextAssignmentAsync(call);

        Assert.That(first.Version, Is.EqualTo(1));
        Assert.That(first.TargetGroups.Select(g => (g.TargetGroup.Name, g.TargetGroup.Port, g.Targets.Count)), Is.EqualTo(new[] { ("tg", 18080, 0) }));

        await CreateGroupAsync("not-yet", 18082);
        var second = await NextAssignmentAsync(call);
        Assert.That((second.Version, second.TargetGroups.Select(g => g.TargetGroup.Name)), Is.EqualTo((2L, new[] { "not-yet", "tg" })), "served once created");
    }

    [Test]
    public async Task A_task_that_runs_is_assigned_and_the_balancers_report_shows_in_describe_target_health()
    {
        await CreateGroupAsync();
        using var call = await HelloAsync();
        Assert.That((await NextAssignmentAsync(call)).TargetGroups.Single().Targets, Is.Empty);

        var (agent, taskId, hostPort) = await RunServiceBehindGroupAsync();
        await using var _ = agent;
        var before = await TargetGroups.DescribeTargetHealthAsync(new DescribeTargetHealthRequest { TargetGroup = "tg" });
        Assert.That(before.Targets, Is.Empty, "not RUNNING yet: no target");

        await agent.ReportAsync(taskId, TaskStatus.Running);
        var assignment = await NextAssignmentAsync(call);
        Assert.That(assignment.Version, Is.EqualTo(2), "the commits that changed no target (the service, its task placed) sent nothing");
        var target = assignment.TargetGroups.Single().Targets.Single();
        Assert.That((target.Id, target.Host, target.Port, target.Weight, target.Draining), Is.EqualTo((taskId, "127.0.0.1", hostPort, 100, false)));

        var registering = (await TargetGroups.DescribeTargetHealthAsync(new DescribeTargetHealthRequest { TargetGroup = "tg" })).Targets.Single();
        Assert.That((registering.Health.State, registering.Health.Reason), Is.EqualTo(("INITIAL", "Elb.RegistrationInProgress")));

        await call.RequestStream.WriteAsync(Report("tg", taskId, hostPort, "UP", "L7OK", connections: 2));
        await EventuallyAsync(async () => (await TargetGroups.DescribeTargetHealthAsync(new DescribeTargetHealthRequest { TargetGroup = "tg" })).Targets.Single().Health.State == "HEALTHY",
            "the target is HEALTHY");
        var healthy = (await TargetGroups.DescribeTargetHealthAsync(new DescribeTargetHealthRequest { TargetGroup = "tg" })).Targets.Single();
        Assert.Multiple(() =>
        {
            Assert.That((healthy.Target.Id, healthy.Target.Cluster, healthy.Target.Service, healthy.Target.Node, healthy.Target.Host, healthy.Target.Port),
                Is.EqualTo((taskId, "default", "web", "a", "127.0.0.1", hostPort)));
            Assert.That((healthy.Health.Description, healthy.Weight, healthy.CurrentConnections), Is.EqualTo(("L7OK", 100, 2)));
        });

        var group = (await TargetGroups.DescribeTargetGroupsAsync(new DescribeTargetGroupsRequest { Names = { "tg" } })).TargetGroups.Single();
        Assert.That(group.Balancers.Select(b => (b.Balancer, b.State)), Is.EqualTo(new[] { ("lb1", "ACTIVE") }));

        await call.RequestStream.WriteAsync(Report("tg", taskId, hostPort, "DOWN", "L7STS"));
        await EventuallyAsync(async () => (await TargetGroups.DescribeTargetHealthAsync(new DescribeTargetHealthRequest { TargetGroup = "tg" })).Targets.Single().Health.Reason == "Target.ResponseCodeMismatch",
            "the target is UNHEALTHY for its status code");

        // The balancer goes: nobody reports any more.
        await call.RequestStream.CompleteAsync();
        using var timeout = new CancellationTokenSource(Patience);
        Assert.That(await call.ResponseStream.MoveNext(timeout.Token), Is.False);
        var gone = (await TargetGroups.DescribeTargetHealthAsync(new DescribeTargetHealthRequest { TargetGroup = "tg" })).Targets.Single();
        Assert.That(gone.Health.State, Is.EqualTo("UNAVAILABLE"));
    }

    [Test]
    public async Task A_second_stream_with_the_same_name_replaces_the_first_which_ends_aborted()
    {
        await CreateGroupAsync();
        using var first = await HelloAsync("lb1");
        await NextAssignmentAsync(first);
        using var second = await HelloAsync("lb1");
        await NextAssignmentAsync(second);

        var ended = Assert.ThrowsAsync<RpcException>(async () => await NextAssignmentAsync(first))!;
        Assert.That(ended.StatusCode, Is.EqualTo(StatusCode.Aborted));
        Assert.That(ended.Status.Detail, Does.Contain("balancer \"lb1\" connected again"));
    }

    [Test]
    public async Task A_balancer_token_connects_an_operator_token_does_not_and_a_revoked_one_ends_the_stream()
    {
        await CreateGroupAsync();
        var tokens = new TokenService.TokenServiceClient(Host.Channel);
        var balancer = await tokens.CreateTokenAsync(new CreateTokenRequest { Name = "lb1", Role = "balancer" });
        var operatorToken = (await tokens.CreateTokenAsync(new CreateTokenRequest { Name = "op", Role = "operator" })).Secret;

        using var call = new BalancerService.BalancerServiceClient(Host.ChannelWith(balancer.Secret)).Connect();
        await call.RequestStream.WriteAsync(new BalancerMessage { Hello = new BalancerHello { Name = "lb1" } });
        Assert.That((await NextAssignmentAsync(call)).TargetGroups.Single().TargetGroup.Name, Is.EqualTo("tg"));

        using var refusedCall = new BalancerService.BalancerServiceClient(Host.ChannelWith(operatorToken)).Connect();
        await refusedCall.RequestStream.WriteAsync(new BalancerMessage { Hello = new BalancerHello { Name = "lb2" } }).ContinueWith(_ => { });
        var refused = Assert.ThrowsAsync<RpcException>(async () => await NextAssignmentAsync(refusedCall))!;
        Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));

        await tokens.RevokeTokenAsync(new RevokeTokenRequest { TokenId = balancer.Token.TokenId });
        var ended = Assert.ThrowsAsync<RpcException>(async () => await NextAssignmentAsync(call))!;
        Assert.That((ended.StatusCode, ended.Status.Detail), Is.EqualTo((StatusCode.Unauthenticated, "authorization: the token was revoked")));
    }

    [TestCase("", "hello.name")]
    [TestCase("bad name", "hello.name")]
    [TestCase("lb1", "hello.targetGroups[0]")]
    public async Task A_bad_hello_is_refused_naming_the_field(string name, string field)
    {
        using var call = name == "lb1" ? await HelloAsync(name, "no spaces allowed") : await HelloAsync(name);

        var refused = Assert.ThrowsAsync<RpcException>(async () => await NextAssignmentAsync(call))!;
        Assert.That((refused.StatusCode, refused.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, refused.Status.Detail)));
        Assert.That(refused.Status.Detail, Does.StartWith($"{field}:"));
    }

    [Test]
    public async Task A_first_message_that_is_not_hello_is_refused()
    {
        using var call = Balancers.Connect();
        await call.RequestStream.WriteAsync(new BalancerMessage { Report = new BalancerReport() });

        var refused = Assert.ThrowsAsync<RpcException>(async () => await NextAssignmentAsync(call))!;
        Assert.That((refused.StatusCode, refused.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "hello: the first message of a balancer's stream must be hello")));
    }

    [Test]
    public async Task Describe_target_health_of_an_unknown_group_is_not_found()
    {
        var refused = Refused(() => TargetGroups.DescribeTargetHealthAsync(new DescribeTargetHealthRequest { TargetGroup = "nope" }).ResponseAsync);
        Assert.That((refused.StatusCode, refused.Status.Detail), Is.EqualTo((StatusCode.NotFound, "targetGroup: target group \"nope\" does not exist")));
    }

    [Test]
    public async Task Endpoints_list_the_running_tasks_bindings_and_watch_sends_them_again_as_they_change()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "a");
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 1 });
        var first = (await agent.NextCommandAsync()).StartTask.TaskId;
        var firstPort = (await DescribeAsync(first)).Containers.Single().NetworkBindings.Single().HostPort;

        var none = await Services.ListServiceEndpointsAsync(new ListServiceEndpointsRequest { Service = "web" });
        Assert.That(none.Endpoints, Is.Empty, "not RUNNING yet");

        using var watch = Services.WatchServiceEndpoints(new WatchServiceEndpointsRequest { Service = "web" });
        Assert.That(await NextAsync(watch.ResponseStream), Is.True);
        Assert.That(watch.ResponseStream.Current.Endpoints, Is.Empty, "the list as it is, first");

        await agent.ReportAsync(first, TaskStatus.Running);
        Assert.That(await NextAsync(watch.ResponseStream), Is.True);
        var update = watch.ResponseStream.Current;
        var endpoint = update.Endpoints.Single();
        Assert.Multiple(() =>
        {
            Assert.That((endpoint.TaskId, endpoint.Node, endpoint.Host, endpoint.Port, endpoint.ContainerName, endpoint.ContainerPort, endpoint.Protocol, endpoint.Health),
                Is.EqualTo((first, "a", "127.0.0.1", firstPort, "app", 80, "tcp", "UNKNOWN")));
            Assert.That(update.Version, Is.GreaterThan(0));
        });

        var listed = await Services.ListServiceEndpointsAsync(new ListServiceEndpointsRequest { Service = "web", HealthyOnly = true });
        Assert.That(listed.Endpoints.Select(e => e.TaskId), Is.EqualTo(new[] { first }), "a task nothing checks counts for healthy_only");

        await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 2 });
        Host.Clock.Advance(TimeSpan.FromSeconds(1));
        var second = (await agent.NextCommandAsync()).StartTask.TaskId;
        await agent.ReportAsync(second, TaskStatus.Running);
        Assert.That(await NextAsync(watch.ResponseStream), Is.True);
        Assert.That(watch.ResponseStream.Current.Endpoints.Select(e => e.TaskId).Order(), Is.EqualTo(new[] { first, second }.Order()));
    }

    [Test]
    public async Task A_node_that_advertises_its_address_is_reached_there()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "a", attributes: new Dictionary<string, string> { ["host-address"] = "node-a.test" });
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 1 });
        var task = (await agent.NextCommandAsync()).StartTask.TaskId;
        await agent.ReportAsync(task, TaskStatus.Running);

        var endpoint = (await Services.ListServiceEndpointsAsync(new ListServiceEndpointsRequest { Service = "web" })).Endpoints.Single();

        Assert.That((endpoint.TaskId, endpoint.Host), Is.EqualTo((task, "node-a.test")));
    }

    [TestCase("nope", "web", "cluster")]
    [TestCase("default", "nope", "service")]
    public async Task Endpoints_of_an_unknown_cluster_or_service_are_not_found_naming_the_field(string cluster, string service, string field)
    {
        await RegisterAsync();
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 0 });

        var listed = Refused(() => Services.ListServiceEndpointsAsync(new ListServiceEndpointsRequest { Cluster = cluster, Service = service }).ResponseAsync);
        using var watch = Services.WatchServiceEndpoints(new WatchServiceEndpointsRequest { Cluster = cluster, Service = service });
        var watched = Assert.ThrowsAsync<RpcException>(async () => await watch.ResponseStream.MoveNext())!;

        Assert.That((listed.StatusCode, watched.StatusCode), Is.EqualTo((StatusCode.NotFound, StatusCode.NotFound)));
        Assert.That(listed.Status.Detail, Does.StartWith($"{field}:"));
        Assert.That(watched.Status.Detail, Does.StartWith($"{field}:"));
    }

    private static async Task<bool> NextAsync<T>(IAsyncStreamReader<T> stream)
    {
        using var timeout = new CancellationTokenSource(Patience);
        return await stream.MoveNext(timeout.Token);
    }

    private static BalancerMessage Report(string group, string taskId, int port, string state, string description, int connections = 0)
    {
        var report = new TargetGroupReport { TargetGroup = group, State = "ACTIVE" };
        report.Targets.Add(new TargetReport { Id = taskId, Host = "127.0.0.1", Port = port, CheckState = state, CheckDescription = description, CurrentConnections = connections });
        return new BalancerMessage { Report = new BalancerReport { TargetGroups = { report } } };
    }
}
