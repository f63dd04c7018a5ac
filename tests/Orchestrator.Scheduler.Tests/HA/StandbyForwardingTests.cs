using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.HA;
using Orchestrator.Scheduler.Storage;
using Orchestrator.Scheduler.Tests.Integration;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.HA;

/// <summary>
/// Two in-process schedulers: a leader, and a standby whose leadership the test sets and whose forwarding
/// channel reaches the leader's test server. The standby starts on a copy of the leader's data directory,
/// so both know the same admin token and CA, as schedulers sharing one etcd do; after that the copy is
/// not kept up to date, so what the leader holds shows that a call reached it.
/// </summary>
internal sealed class StandbyForwardingTests
{
    private const string LeaderAddress = "leader.test:7400";

    private string _directory = "";
    private SchedulerHost _leader = null!;
    private SchedulerHost _standby = null!;
    private FakeLeadership _leadership = null!;

    [SetUp]
    public void StartBoth()
    {
        // One fixture instance runs every test: each gets a leadership of its own.
        // Leader while the standby opens its state, so that the token test can write to its copy alone (below).
        _leadership = new FakeLeadership { IsLeader = true, LeaderAddress = LeaderAddress };
        var leadership = _leadership;
        _directory = Directory.CreateTempSubdirectory("orchestrator-ha-").FullName;
        var leaderPath = Path.Combine(_directory, "leader", "scheduler.db");
        var standbyPath = Path.Combine(_directory, "standby", "scheduler.db");
        _leader = new SchedulerHost(leaderPath);
        _ = _leader.Server;
        _leader.Dispose();
        CopyDataDirectory(Path.GetDirectoryName(leaderPath)!, Path.GetDirectoryName(standbyPath)!);

        _leader = new SchedulerHost(leaderPath);
        _ = _leader.Server;
        var leader = _leader;
        _standby = new SchedulerHost(standbyPath)
        {
            ReplaceServices = services =>
            {
                services.RemoveAll<ILeadership>();
                services.AddSingleton<ILeadership>(leadership);
                services.RemoveAll<LeaderChannel>();
                // The leader through its test server; any other address over a real socket (h2c), as insecure schedulers reach each other.
                services.AddSingleton(new LeaderChannel(address => address == LeaderAddress
                    ? GrpcChannel.ForAddress(leader.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = leader.Server.CreateHandler() })
                    : GrpcChannel.ForAddress($"http://{address}")));
            },
        };
        _ = _standby.Server;
        _ = _standby.Services.GetRequiredService<Orchestrator.Scheduler.State.ClusterState>();
        _leadership.IsLeader = false;
    }

    [TearDown]
    public void StopBoth()
    {
        _standby.Dispose();
        _leader.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Test]
    public async Task A_write_on_the_standby_changes_the_leader_and_returns_its_answer()
    {
        var created = await _standby.Clusters.CreateClusterAsync(new CreateClusterRequest { Name = "forwarded" });

        var onLeader = await _leader.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Names = { "forwarded" } });
        var onStandby = await _standby.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Names = { "forwarded" } });
        Assert.Multiple(() =>
        {
            Assert.That(created.Cluster.Name, Is.EqualTo("forwarded"));
            Assert.That(onLeader.Clusters.Select(c => c.Name), Is.EqualTo(new[] { "forwarded" }));
            // A read is forwarded too: the standby's own copy never saw the cluster.
            Assert.That(onStandby.Clusters.Select(c => c.Name), Is.EqualTo(new[] { "forwarded" }));
        });
    }

    [Test]
    public async Task A_watch_on_the_standby_streams_what_the_leader_sees()
    {
        await _leader.TaskDefinitions.RegisterTaskDefinitionAsync(SchedulerTest.WebDefinitionFor("web"));
        await using var agent = await SimulatedAgent.ConnectAsync(_leader.Agents, "n1");
        var task = (await _leader.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks.Single();

        using var watch = _standby.Tasks.WatchTasks(new WatchTasksRequest { IncludeExisting = true });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.That(await watch.ResponseStream.MoveNext(timeout.Token));
        var existing = watch.ResponseStream.Current;
        await agent.ReportAsync(task.TaskId, TaskStatus.Running);
        Assert.That(await watch.ResponseStream.MoveNext(timeout.Token));
        var change = watch.ResponseStream.Current;
        Assert.Multiple(() =>
        {
            Assert.That((existing.Existing, existing.Task.TaskId), Is.EqualTo((true, task.TaskId)));
            Assert.That((change.Existing, change.Task.TaskId, change.Task.LastStatus), Is.EqualTo((false, task.TaskId, TaskStatus.Running)));
        });
    }

    [Test]
    public async Task Exec_on_the_standby_reaches_the_agent_on_the_leader_both_ways()
    {
        await _leader.TaskDefinitions.RegisterTaskDefinitionAsync(SchedulerTest.WebDefinitionFor("web"));
        await using var agent = await SimulatedAgent.ConnectAsync(_leader.Agents, "n1");
        var task = (await _leader.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks.Single();
        await agent.NextCommandAsync();
        await agent.ReportAsync(task.TaskId, TaskStatus.Running);

        using var call = _standby.Tasks.ExecuteCommand();
        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Start = new ExecStart { Task = task.TaskId, Interactive = true, Command = { "cat" } } });
        var (_, session) = await agent.AcceptSessionAsync();
        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Stdin = Google.Protobuf.ByteString.CopyFromUtf8("data") });
        await call.RequestStream.CompleteAsync();
        var stdin = await session.NextInputAsync();
        var close = await session.NextInputAsync();
        await session.StdoutAsync("data");
        await session.ExitedAsync(7);
        var answers = new List<ExecuteCommandResponse>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (await call.ResponseStream.MoveNext(timeout.Token))
        {
            answers.Add(call.ResponseStream.Current);
        }

        Assert.Multiple(() =>
        {
            Assert.That(stdin!.Exec.Stdin.ToStringUtf8(), Is.EqualTo("data"));
            Assert.That(close!.Exec.CloseStdin, Is.True, "the end of the caller's input is forwarded too");
            Assert.That(answers.Select(a => a.BodyCase), Is.EqualTo(new[] { ExecuteCommandResponse.BodyOneofCase.Stdout, ExecuteCommandResponse.BodyOneofCase.Exited }));
            Assert.That((answers[0].Stdout.ToStringUtf8(), answers[1].Exited.ExitCode), Is.EqualTo(("data", 7)));
            Assert.That(call.GetStatus().StatusCode, Is.EqualTo(StatusCode.OK));
        });
        await session.DisposeAsync();
    }

    [Test]
    public async Task The_leaders_error_passes_through_with_its_code_and_message()
    {
        var direct = Assert.ThrowsAsync<RpcException>(async () => await _leader.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "missing" }));
        var forwarded = Assert.ThrowsAsync<RpcException>(async () => await _standby.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "missing" }));

        Assert.That((forwarded!.StatusCode, forwarded.Status.Detail), Is.EqualTo((direct!.StatusCode, direct.Status.Detail)));
        Assert.That(forwarded.StatusCode, Is.Not.EqualTo(StatusCode.OK).And.Not.EqualTo(StatusCode.Unavailable));
    }

    [Test]
    public void A_bad_token_is_refused()
    {
        using var channel = _standby.ChannelWith("not-a-token");
        var refused = Assert.ThrowsAsync<RpcException>(async () =>
            await new ClusterService.ClusterServiceClient(channel).CreateClusterAsync(new CreateClusterRequest { Name = "intruder" }));

        Assert.That(refused!.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
        Assert.That(_leader.Clusters.ListClusters(new ListClustersRequest()).Names, Has.None.EqualTo("intruder"));
    }

    [Test]
    public async Task A_token_only_the_standbys_stale_copy_knows_is_refused_by_the_leader()
    {
        // Made while the standby thinks it leads: it is in the standby's own copy only, so the standby
        // lets it through and the leader, which holds the truth, refuses it.
        _leadership.IsLeader = true;
        var made = await new TokenService.TokenServiceClient(_standby.Channel).CreateTokenAsync(new CreateTokenRequest { Name = "stale", Role = "admin" });
        _leadership.IsLeader = false;

        using var channel = _standby.ChannelWith(made.Secret);
        var refused = Assert.ThrowsAsync<RpcException>(async () =>
            await new ClusterService.ClusterServiceClient(channel).CreateClusterAsync(new CreateClusterRequest { Name = "intruder" }));

        Assert.That((refused!.StatusCode, refused.Status.Detail), Is.EqualTo((StatusCode.Unauthenticated, "authorization: the token is not valid (unknown or revoked)")));
        Assert.That(_leader.Clusters.ListClusters(new ListClustersRequest()).Names, Has.None.EqualTo("intruder"));
    }

    [Test]
    public void A_call_a_standby_forwarded_is_never_forwarded_again()
    {
        var headers = new Metadata { { LeaderForwardingInterceptor.ForwardedHeader, "1" } };
        var refused = Assert.ThrowsAsync<RpcException>(async () =>
            await _standby.Clusters.CreateClusterAsync(new CreateClusterRequest { Name = "looped" }, headers));

        Assert.That((refused!.StatusCode, refused.Status.Detail), Is.EqualTo((StatusCode.Unavailable,
            "not the leader: this scheduler is a standby too, and does not forward a call another one forwarded (a standby (set by the test))")));
        Assert.That(_leader.Clusters.ListClusters(new ListClustersRequest()).Names, Has.None.EqualTo("looped"));
    }

    [Test]
    public async Task With_no_leader_reads_are_served_here_marked_stale_and_writes_are_refused_saying_why()
    {
        _leadership.LeaderAddress = null;
        _leadership.NotLeaderReason = "etcd is unreachable";

        using var read = _standby.Clusters.ListClustersAsync(new ListClustersRequest());
        var headers = await read.ResponseHeadersAsync;
        var clusters = await read.ResponseAsync;
        var write = Assert.ThrowsAsync<RpcException>(async () => await _standby.Clusters.CreateClusterAsync(new CreateClusterRequest { Name = "orphan" }));

        Assert.Multiple(() =>
        {
            Assert.That(headers.GetValue(LeaderForwardingInterceptor.StaleHeader), Is.EqualTo("etcd is unreachable"));
            Assert.That(clusters.Names, Has.Member("default"));
            Assert.That((write!.StatusCode, write.Status.Detail), Is.EqualTo((StatusCode.Unavailable, "no leader: etcd is unreachable; nothing was changed")));
        });
    }

    [Test]
    public void A_leader_that_does_not_answer_is_unavailable_saying_so()
    {
        var gone = $"127.0.0.1:{Orchestrator.Tests.Shared.DaemonProcess.FreePort()}";
        _leadership.LeaderAddress = gone;

        var refused = Assert.ThrowsAsync<RpcException>(async () => await _standby.Clusters.CreateClusterAsync(new CreateClusterRequest { Name = "unsent" }));

        Assert.That(refused!.StatusCode, Is.EqualTo(StatusCode.Unavailable));
        Assert.That(refused.Status.Detail, Does.StartWith($"not the leader, and the leader at {gone} did not answer: "));
    }

    [Test]
    public async Task Health_is_answered_by_the_standby_itself()
    {
        var health = new Grpc.Health.V1.Health.HealthClient(_standby.Channel);
        var answer = await health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest());
        Assert.That(answer.Status, Is.EqualTo(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving));
    }

    [Test]
    public async Task An_agent_is_refused_by_a_standby_and_told_where_the_leader_is()
    {
        using var call = _standby.Agents.Connect();
        var refused = Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext());
        // Served by the standby itself (the CA is shared): here its own answer for an insecure scheduler, not a refusal.
        var ca = Assert.ThrowsAsync<RpcException>(async () => await _standby.Agents.GetCaCertificateAsync(new GetCaCertificateRequest()));

        Assert.Multiple(() =>
        {
            Assert.That((refused!.StatusCode, refused.Status.Detail), Is.EqualTo((StatusCode.Unavailable, $"not the leader; the leader is at {LeaderAddress}")));
            Assert.That(refused.Trailers.GetValue(LeaderForwardingInterceptor.LeaderTrailer), Is.EqualTo(LeaderAddress));
            Assert.That(ca!.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        });
    }

    private static void CopyDataDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from).Where(f => Path.GetFileName(f) != DataDirectoryLock.FileName))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }
}
