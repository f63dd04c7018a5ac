using Grpc.Core;
using Grpc.Health.V1;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Tests.Integration;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Security;

/// <summary>API tokens with roles: every public call needs one; health needs none; revocation is immediate.</summary>
internal sealed class TokenTests : SchedulerTest
{
    private TokenService.TokenServiceClient Tokens => new(Host.Channel);

    private async Task<string> CreateAsync(string role, string name = "t") =>
        (await Tokens.CreateTokenAsync(new CreateTokenRequest { Name = name, Role = role })).Secret;

    private TaskService.TaskServiceClient TasksWith(string? token) => new(Host.ChannelWith(token));

    [Test]
    public async Task No_token_a_malformed_header_and_an_unknown_token_are_unauthenticated_on_RunTask()
    {
        await RegisterAsync();
        var none = Refused(() => TasksWith(null).RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" }).ResponseAsync);
        var basic = Refused(() => new TaskService.TaskServiceClient(Host.Channel).RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" },
            new Metadata { { "authorization", "Basic dXNlcjpwYXNz" } }).ResponseAsync);
        var unknown = Refused(() => TasksWith("orch_not-a-token").RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" }).ResponseAsync);
        var listed = await Host.Tasks.ListTasksAsync(new ListTasksRequest { IncludeAllStatuses = true });
        Assert.Multiple(() =>
        {
            Assert.That((none.StatusCode, none.Status.Detail), Is.EqualTo((StatusCode.Unauthenticated, "authorization: a token is required: send the header \"authorization: Bearer <token>\"")));
            Assert.That(basic.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
            Assert.That(basic.Status.Detail, Does.StartWith("authorization: "));
            Assert.That((unknown.StatusCode, unknown.Status.Detail), Is.EqualTo((StatusCode.Unauthenticated, "authorization: the token is not valid (unknown or revoked)")));
            Assert.That(listed.TaskIds, Is.Empty, "nothing ran");
        });
    }

    [Test]
    public async Task A_read_only_token_reads_and_cannot_run_tasks()
    {
        await RegisterAsync();
        var reader = await CreateAsync("read-only");
        var tasks = TasksWith(reader);
        var listed = await tasks.ListTasksAsync(new ListTasksRequest());
        var run = Refused(() => tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" }).ResponseAsync);
        var register = Refused(() => new TaskDefinitionService.TaskDefinitionServiceClient(Host.ChannelWith(reader)).RegisterTaskDefinitionAsync(WebDefinition()).ResponseAsync);
        Assert.Multiple(() =>
        {
            Assert.That(listed.TaskIds, Is.Empty);
            Assert.That(run.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(run.Status.Detail, Does.StartWith("orchestrator.v1.TaskService/RunTask needs the operator role; token tok-").And.EndWith(" is read-only"));
            Assert.That(register.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
        });
    }

    [Test]
    public async Task An_operator_token_runs_work_but_manages_neither_clusters_tokens_nor_deregistration()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var operatorToken = await CreateAsync("operator");
        var channel = Host.ChannelWith(operatorToken);
        var run = await new TaskService.TaskServiceClient(channel).RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
        var drain = await new NodeService.NodeServiceClient(channel).UpdateNodeStatusAsync(new UpdateNodeStatusRequest { Name = "n1", Status = NodeStatus.Draining });
        var cluster = Refused(() => new ClusterService.ClusterServiceClient(channel).CreateClusterAsync(new CreateClusterRequest { Name = "prod" }).ResponseAsync);
        var token = Refused(() => new TokenService.TokenServiceClient(channel).CreateTokenAsync(new CreateTokenRequest { Name = "x", Role = "admin" }).ResponseAsync);
        var deregister = Refused(() => new NodeService.NodeServiceClient(channel).DeregisterNodeAsync(new DeregisterNodeRequest { Name = "n1", Force = true }).ResponseAsync);
        Assert.Multiple(async () =>
        {
            Assert.That(run.Tasks, Has.Count.EqualTo(1));
            Assert.That(drain.Node.Status, Is.EqualTo(NodeStatus.Draining));
            foreach (var refused in new[] { cluster, token, deregister })
            {
                Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
                Assert.That(refused.Status.Detail, Does.Contain("needs the admin role"));
            }

            Assert.That((await NodeAsync("n1")).Status, Is.EqualTo(NodeStatus.Draining), "not deregistered");
        });
    }

    [Test]
    public async Task Health_and_reflection_answer_without_a_token()
    {
        var health = await new Health.HealthClient(Host.ChannelWith(null)).CheckAsync(new HealthCheckRequest());
        Assert.That(health.Status, Is.EqualTo(HealthCheckResponse.Types.ServingStatus.Serving));
    }

    [Test]
    public async Task A_created_token_is_shown_once_listed_without_its_secret_and_stored_only_hashed()
    {
        var created = await Tokens.CreateTokenAsync(new CreateTokenRequest { Name = "ci", Role = "operator" });
        var listed = await Tokens.ListTokensAsync(new ListTokensRequest());
        RestartScheduler();
        var afterRestart = await TasksWith(created.Secret).ListTasksAsync(new ListTasksRequest());
        var database = string.Concat(Directory.GetFiles(Host.DataDirectory, "*.db").Select(f => Convert.ToHexString(File.ReadAllBytes(f))));
        Assert.Multiple(() =>
        {
            Assert.That(created.Secret, Does.StartWith("orch_").And.Length.GreaterThan(40));
            Assert.That(listed.Tokens.Select(t => (t.Name, t.Role)), Is.EquivalentTo(new[] { ("bootstrap", "admin"), ("ci", "operator") }));
            Assert.That(listed.ToString(), Does.Not.Contain(created.Secret).And.Not.Contain(Host.AdminToken), "ListTokens never shows a secret");
            Assert.That(afterRestart.TaskIds, Is.Empty, "the token works after a restart");
            Assert.That(database, Does.Not.Contain(Convert.ToHexString(System.Text.Encoding.UTF8.GetBytes(created.Secret))), "the store keeps hashes only");
            Assert.That(database, Does.Not.Contain(Convert.ToHexString(System.Text.Encoding.UTF8.GetBytes(Host.AdminToken))));
        });
    }

    [Test]
    public async Task A_revoked_token_is_refused_at_once_and_ends_its_open_watch()
    {
        var created = await Tokens.CreateTokenAsync(new CreateTokenRequest { Name = "watcher", Role = "read-only" });
        using var watch = TasksWith(created.Secret).WatchTasks(new WatchTasksRequest());
        var reading = watch.ResponseStream.MoveNext();
        await Task.Delay(100); // the watch is open and waiting for changes
        await Tokens.RevokeTokenAsync(new RevokeTokenRequest { TokenId = created.Token.TokenId });

        var ended = Assert.ThrowsAsync<RpcException>(async () => await reading.WaitAsync(TimeSpan.FromSeconds(10)));
        var next = Refused(() => TasksWith(created.Secret).ListTasksAsync(new ListTasksRequest()).ResponseAsync);
        var listed = await Tokens.ListTokensAsync(new ListTokensRequest());
        Assert.Multiple(() =>
        {
            Assert.That((ended!.StatusCode, ended.Status.Detail), Is.EqualTo((StatusCode.Unauthenticated, "authorization: the token was revoked")));
            Assert.That(next.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
            Assert.That(listed.Tokens.Single(t => t.Name == "watcher").RevokedAt, Is.Not.Null);
        });
    }

    [TestCase("", "operator", "name: token name is required")]
    [TestCase("x y", "operator", "name: \"x y\" is not a valid token name: use 1 to 255 letters, digits, hyphens and underscores")]
    [TestCase("x", "root", "role: must be \"admin\", \"operator\", \"read-only\" or \"balancer\", not \"root\"")]
    public void A_bad_token_request_is_refused_naming_the_field(string name, string role, string detail)
    {
        var refused = Refused(() => Tokens.CreateTokenAsync(new CreateTokenRequest { Name = name, Role = role }).ResponseAsync);
        Assert.That((refused.StatusCode, refused.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, detail)));
    }

    [Test]
    public void Revoking_an_unknown_token_is_not_found()
    {
        var refused = Refused(() => Tokens.RevokeTokenAsync(new RevokeTokenRequest { TokenId = "tok-0000" }).ResponseAsync);
        Assert.That((refused.StatusCode, refused.Status.Detail), Is.EqualTo((StatusCode.NotFound, "tokenId: token \"tok-0000\" does not exist")));
    }
}
