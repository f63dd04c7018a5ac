using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>
/// Three real schedulers on a real 3-member etcd with a 4 s lease, real agents on the real Docker: the
/// failures HA is for (a leader killed or frozen, etcd members lost) and what clients and containers see.
/// </summary>
internal sealed class HighAvailabilityTests
{
    private static readonly TimeSpan Failover = TimeSpan.FromSeconds(30);

    private static ContainerDefinition Sleeper() => new()
    {
        Name = "main",
        Image = Docker.TestImage,
        Command = { "sleep", "3600" },
        Memory = 8,
        StopTimeoutSeconds = 1,
    };

    [Test]
    public async Task A_leader_killed_in_a_burst_of_RunTask_loses_no_acknowledged_task_and_runs_none_twice()
    {
        await using var cluster = await HaCluster.StartAsync();
        await cluster.RegisterAsync("burst", Sleeper());
        var leader = await cluster.Schedulers.WaitForLeaderAsync(Failover);

        // 30 RunTask calls, 50 ms apart, each with its own client token, through the failover client (an
        // UNAVAILABLE call goes again, same token, to the next scheduler); the leader is killed after the 10th.
        const int calls = 30;
        var tokens = Enumerable.Range(0, calls).Select(i => $"burst-{i}-{Guid.NewGuid():N}"[..40]).ToArray();
        var answers = new Task<RunTaskResponse>[calls];
        for (var i = 0; i < calls; i++)
        {
            answers[i] = cluster.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "burst", ClientToken = tokens[i] }).ResponseAsync;
            if (i == 9)
            {
                cluster.Schedulers.Kill(leader);
            }

            await Task.Delay(50);
        }

        var first = await Task.WhenAll(answers);
        var newLeader = await cluster.Schedulers.WaitForLeaderAsync(Failover, not: leader);

        // A call the new leader answered before the agent came over placed nothing and left no receipt:
        // the client retries it, same token, until the agent is back (what the receipt rule is for).
        var placed = new RunTaskResponse[calls];
        for (var i = 0; i < calls; i++)
        {
            placed[i] = first[i].Tasks.Count > 0 ? first[i] : await RunUntilPlacedAsync(cluster, tokens[i]);
        }

        // Every token again, now that all is settled: the same task each time.
        var again = new RunTaskResponse[calls];
        for (var i = 0; i < calls; i++)
        {
            again[i] = await cluster.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "burst", ClientToken = tokens[i] });
        }

        var acknowledged = placed.Select(r => r.Tasks.Single().TaskId).ToList();
        var listed = (await cluster.Tasks.ListTasksAsync(new ListTasksRequest { Family = "burst", MaxResults = 1000 })).TaskIds;
        var described = await cluster.DescribeAllAsync(acknowledged);
        await Polling.UntilAsync(async () => (await cluster.DescribeAllAsync(acknowledged)).All(t => t.LastStatus == TaskStatus.Running),
            "every acknowledged task is RUNNING", TimeSpan.FromSeconds(90), cluster.Schedulers.Describe);
        var containers = cluster.RunningContainersByTask();

        TestContext.Out.WriteLine($"{first.Count(r => r.Tasks.Count > 0)} placed at once, {first.Count(r => r.Tasks.Count == 0)} placed on retry; failed attempts: "
            + string.Join("; ", cluster.Schedulers.Failover.Attempts.Where(a => a.Status != StatusCode.OK).GroupBy(a => (a.Scheduler, a.Status)).Select(g => $"{g.Count()}x scheduler {g.Key.Scheduler} {g.Key.Status}")));
        Assert.Multiple(() =>
        {
            Assert.That(first.SelectMany(r => r.Failures).Select(f => f.Reason).Distinct(), Is.SubsetOf(new[] { "NO_ACTIVE_NODES" }), "only 'agent not back yet' failures");
            Assert.That(first.Where(r => r.Tasks.Count > 0).Select(r => r.Tasks.Count), Is.All.EqualTo(1));
            Assert.That(acknowledged, Has.Count.EqualTo(calls).And.Unique, "one task per token");
            Assert.That(again.Select(r => r.Tasks.Single().TaskId), Is.EqualTo(acknowledged), "a token answers its task again after the failover");
            Assert.That(described.Select(t => t.TaskId), Is.EquivalentTo(acknowledged), "every acknowledged task exists");
            Assert.That(listed, Is.EquivalentTo(acknowledged), "and no other task was made");
            Assert.That(containers.Keys, Is.EquivalentTo(acknowledged), "docker runs every task");
            Assert.That(containers.Where(c => c.Value.Count != 1).Select(c => c.Key), Is.Empty, "no task runs twice");
            Assert.That(newLeader, Is.Not.EqualTo(leader));
        });
    }

    [Test]
    public async Task A_leader_frozen_past_its_lease_is_replaced_then_steps_down_and_writes_nothing_twice()
    {
        await using var cluster = await HaCluster.StartAsync();
        await cluster.RegisterAsync("frozen", Sleeper());
        var before = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            before.Add((await RunUntilPlacedAsync(cluster, $"before-{i}-{Guid.NewGuid():N}"[..30], "frozen")).Tasks.Single().TaskId);
        }

        await WaitUntilRunningAsync(cluster, before);
        var leader = await cluster.Schedulers.WaitForLeaderAsync(Failover);
        static int NoLongerLeaderLines(HaScheduler s) => s.Output.Count(l => l.Contains("no longer the leader", StringComparison.Ordinal));
        var deposedBefore = NoLongerLeaderLines(cluster.Schedulers.Schedulers[leader]);

        cluster.Schedulers.Freeze(leader);
        var newLeader = await cluster.Schedulers.WaitForLeaderAsync(Failover, not: leader);
        var other = Enumerable.Range(0, 3).Single(i => i != leader && i != newLeader);

        // A write through the third scheduler (a standby: it forwards to the new leader) succeeds.
        var extra = new List<string>();
        var during = (await RunUntilPlacedAsync(cluster, $"during-{Guid.NewGuid():N}"[..30], "frozen", cluster.Schedulers.Channel(other).CreateCallInvoker())).Tasks.Single().TaskId;

        // A RunTask sent to the frozen leader waits in its socket; thawed, it must not place it as the
        // leader it was: it refuses (deposed), or it is a standby by then and the new leader answers.
        var sentToFrozen = new TaskService.TaskServiceClient(cluster.Schedulers.Channel(leader)).RunTaskAsync(
            new RunTaskRequest { TaskDefinition = "frozen", ClientToken = $"stale-{Guid.NewGuid():N}"[..30] }, deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync;
        await Task.Delay(500);
        cluster.Schedulers.Thaw(leader);
        string? staleOutcome;
        try
        {
            var answer = await sentToFrozen;
            staleOutcome = $"answered: {answer.Tasks.Count} tasks, {string.Join(",", answer.Failures.Select(f => f.Reason))}";
            extra.AddRange(answer.Tasks.Select(t => t.TaskId));
        }
        catch (RpcException e)
        {
            staleOutcome = $"{e.StatusCode}: {e.Status.Detail}";
        }

        TestContext.Out.WriteLine($"the call sent to the frozen leader: {staleOutcome}");
        var old = cluster.Schedulers.Schedulers[leader];
        await Polling.UntilAsync(() => Task.FromResult(old.ExitCodes.Contains(5)), "the thawed leader exits 5", TimeSpan.FromSeconds(30), cluster.Schedulers.Describe);
        // Back as a standby: SERVING (it knows the leader) and it names the new leader.
        Assert.That(await old.Process!.WaitUntilServingAsync(cluster.Schedulers.Channel(leader)), Is.True, cluster.Schedulers.Describe());
        var newAddress = $"127.0.0.1:{cluster.Schedulers.Schedulers[newLeader].Port}";
        await Polling.UntilAsync(() => Task.FromResult(old.Process.StandardOutput.Any(l => l.Contains($"The leader is at {newAddress}", StringComparison.Ordinal))),
            "it comes back as a standby of the new leader", TimeSpan.FromSeconds(30), cluster.Schedulers.Describe);

        var all = before.Append(during).Concat(extra).ToList();
        await WaitUntilRunningAsync(cluster, all);
        var listed = (await cluster.Tasks.ListTasksAsync(new ListTasksRequest { Family = "frozen", MaxResults = 1000 })).TaskIds;
        var containers = cluster.RunningContainersByTask();
        Assert.Multiple(() =>
        {
            Assert.That(NoLongerLeaderLines(old), Is.GreaterThan(deposedBefore), "it logs it is no longer the leader");
            Assert.That(old.ExitCodes, Is.EqualTo(new[] { 5 }), "it exited once, with 5");
            Assert.That(cluster.Schedulers.LeaderIndex, Is.EqualTo(newLeader), "the new leader stays");
            Assert.That(listed, Is.EquivalentTo(all), "no task more or less");
            Assert.That(containers.Keys, Is.EquivalentTo(all));
            Assert.That(containers.Where(c => c.Value.Count != 1).Select(c => c.Key), Is.Empty, "no task runs twice");
        });
    }

    [Test]
    public async Task With_an_etcd_follower_down_writes_and_reads_see_no_error()
    {
        await using var cluster = await HaCluster.StartAsync(agents: 0);
        var raftLeader = RaftLeaderOf(cluster.Etcd);

        // Each follower in turn, so that a scheduler's etcd client loses the member it uses.
        var written = new List<string>();
        foreach (var member in cluster.Etcd.Members.Where(m => m != raftLeader))
        {
            member.Kill();
            written.AddRange(await WriteAndReadAsync(cluster, 4));
            await member.RestartAsync();
        }

        Assert.Multiple(() =>
        {
            Assert.That(written, Is.EqualTo(Enumerable.Range(1, 8).Select(r => $"member:{r}")));
            Assert.That(cluster.Schedulers.Schedulers.SelectMany(s => s.ExitCodes), Is.Empty, "no scheduler restarted");
            Assert.That(cluster.Schedulers.LeaderIndex, Is.EqualTo(0), "the leader kept its lease");
        });
    }

    [Test]
    public async Task With_the_etcd_raft_leader_down_writes_and_reads_see_no_error()
    {
        // etcd's own election (1 to 2 s here) must fit in the leader's margin: the default 10 s lease.
        await using var cluster = await HaCluster.StartAsync(0, TimeSpan.FromSeconds(10));
        var raftLeader = RaftLeaderOf(cluster.Etcd);
        raftLeader.Kill();
        var written = await WriteAndReadAsync(cluster, 4);
        await raftLeader.RestartAsync();

        Assert.Multiple(() =>
        {
            Assert.That(written, Is.EqualTo(Enumerable.Range(1, 4).Select(r => $"member:{r}")));
            Assert.That(cluster.Schedulers.Schedulers.SelectMany(s => s.ExitCodes), Is.Empty, "no scheduler restarted");
            Assert.That(cluster.Schedulers.LeaderIndex, Is.EqualTo(0), "the leader kept its lease");
        });
    }

    /// <summary>
    /// Registers <paramref name="count"/> revisions of "member", through the leader and a standby in turn,
    /// each read back at once, over direct channels with no retry: what a client would see, the test sees.
    /// </summary>
    private static async Task<List<string>> WriteAndReadAsync(HaCluster cluster, int count)
    {
        var leader = await cluster.Schedulers.WaitForLeaderAsync(Failover);
        var written = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var through = new TaskDefinitionService.TaskDefinitionServiceClient(cluster.Schedulers.Channel(i % 2 == 0 ? leader : (leader + 1) % 3));
            var arn = (await through.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { Family = "member", ContainerDefinitions = { Sleeper() } },
                deadline: DateTime.UtcNow.AddSeconds(15))).TaskDefinition.TaskDefinitionArn;
            written.Add(arn);
            var read = await through.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = arn }, deadline: DateTime.UtcNow.AddSeconds(15));
            Assert.That(read.TaskDefinition.TaskDefinitionArn, Is.EqualTo(arn));
        }

        return written;
    }

    [Test]
    public async Task With_etcd_quorum_lost_writes_are_refused_reads_are_stale_and_both_work_again_once_it_is_back()
    {
        await using var cluster = await HaCluster.StartAsync(agents: 0);
        await cluster.RegisterAsync("kept", Sleeper());
        var leader = await cluster.Schedulers.WaitForLeaderAsync(Failover);
        cluster.Etcd.Members[1].Kill();
        cluster.Etcd.Members[2].Kill();

        // Every scheduler that serves refuses writes with UNAVAILABLE, saying why. (A write the leader
        // sent as etcd lost its quorum has an unknown outcome: that leader restarts, exit 4, and serves
        // nothing until etcd is back.)
        var refusals = new Dictionary<int, string>();
        await Polling.UntilAsync(async () =>
        {
            refusals.Clear();
            var others = 0;
            foreach (var scheduler in cluster.Schedulers.Schedulers)
            {
                try
                {
                    await new TaskDefinitionService.TaskDefinitionServiceClient(cluster.Schedulers.Channel(scheduler.Index)).RegisterTaskDefinitionAsync(
                        new RegisterTaskDefinitionRequest { Family = "lost", ContainerDefinitions = { Sleeper() } }, deadline: DateTime.UtcNow.AddSeconds(10));
                    Assert.Fail($"scheduler {scheduler.Index} wrote with etcd's quorum lost");
                }
                catch (RpcException e) when (IsNotListening(e))
                {
                    // Restarting: it serves nothing until etcd is back.
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && !e.Status.Detail.Contains("whether it was saved is not known", StringComparison.Ordinal))
                {
                    refusals[scheduler.Index] = e.Status.Detail;
                }
                catch (RpcException)
                {
                    others++; // not yet the settled refusal (a commit that timed out as the quorum went)
                }
            }

            return others == 0 && refusals.Count >= 2;
        }, "every serving scheduler refuses writes with UNAVAILABLE", TimeSpan.FromSeconds(60), () => string.Join("\n", refusals) + "\n" + cluster.Schedulers.Describe(), 500);

        // Reads are served from memory, marked stale, by every scheduler still up (the old leader may have
        // refused a write and then stopped: its own write of unknown outcome could not be settled, exit 4).
        var stale = new Dictionary<int, string?>();
        foreach (var index in refusals.Keys)
        {
            try
            {
                using var call = new TaskDefinitionService.TaskDefinitionServiceClient(cluster.Schedulers.Channel(index)).DescribeTaskDefinitionAsync(
                    new DescribeTaskDefinitionRequest { TaskDefinition = "kept:1" }, deadline: DateTime.UtcNow.AddSeconds(10));
                Assert.That((await call.ResponseAsync).TaskDefinition.TaskDefinitionArn, Is.EqualTo("kept:1"));
                stale[index] = (await call.ResponseHeadersAsync).GetValue("orchestrator-stale");
            }
            catch (RpcException e) when (IsNotListening(e))
            {
                // Restarting: it serves nothing until etcd is back.
            }
        }

        Assert.That(stale, Has.Count.GreaterThanOrEqualTo(2), "both standbys serve reads");

        await Task.WhenAll(cluster.Etcd.Members[1].RestartAsync(), cluster.Etcd.Members[2].RestartAsync());
        var newLeader = await cluster.Schedulers.WaitForLeaderAsync(TimeSpan.FromSeconds(60));
        var after = await cluster.RegisterAsync("after", Sleeper());
        var kept = (await cluster.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = "kept:1" })).TaskDefinition;

        TestContext.Out.WriteLine($"leader {leader}, then {newLeader}; refusals: {string.Join("; ", refusals)}; exits: {string.Join("; ", cluster.Schedulers.Schedulers.Select(s => $"{s.Index}: {string.Join(",", s.ExitCodes)}"))}");
        Assert.Multiple(() =>
        {
            Assert.That(refusals.Values, Is.All.Match("(?i)leader|etcd"), "the refusal says why");
            Assert.That(refusals.Values, Is.All.Contain("nothing was changed").Or.Contain("no longer the leader").Or.Contain("no leader"));
            Assert.That(stale.Values, Is.All.Not.Null.And.Not.Empty, "reads carry orchestrator-stale");
            Assert.That(after, Is.EqualTo("after:1"));
            Assert.That(kept.TaskDefinitionArn, Is.EqualTo("kept:1"));
        });
    }

    [Test]
    public async Task A_rolling_deployment_across_a_leader_kill_completes_within_its_bounds()
    {
        await using var cluster = await HaCluster.StartAsync();
        await cluster.RegisterAsync("roll", Sleeper());
        await cluster.RegisterAsync("roll", Sleeper());
        var bounds = new DeploymentConfiguration { MinimumHealthyPercent = 50, MaximumPercent = 200 };
        await cluster.Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "roll", TaskDefinition = "roll:1", DesiredCount = 4, DeploymentConfiguration = bounds });
        await Polling.UntilAsync(async () => await RolloutOfAsync(cluster, "roll:1") && cluster.RunningContainersByTask("roll").Count == 4,
            "the first deployment completes with four containers", TimeSpan.FromSeconds(60), cluster.Schedulers.Describe);

        // Sample docker while the rollout runs; the leader is killed once it has begun.
        using var sampling = new CancellationTokenSource();
        var samples = new List<int>();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                var count = cluster.RunningContainersByTask("roll").Sum(c => c.Value.Count);
                lock (samples)
                {
                    samples.Add(count);
                }

                await Task.Delay(100);
            }
        });

        await cluster.Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "roll", TaskDefinition = "roll:2" });
        var leader = await cluster.Schedulers.WaitForLeaderAsync(Failover);
        await Polling.UntilAsync(async () => (await cluster.Services.DescribeServicesAsync(new DescribeServicesRequest { Services = { "roll" } })).Services.Single()
            .Deployments.Any(d => d.TaskDefinition == "roll:2" && d.RunningCount + d.PendingCount > 0), "the rollout has begun", TimeSpan.FromSeconds(30));
        cluster.Schedulers.Kill(leader);
        await cluster.Schedulers.WaitForLeaderAsync(Failover, not: leader);

        await Polling.UntilAsync(async () => await RolloutOfAsync(cluster, "roll:2"), "the rollout to roll:2 completes", TimeSpan.FromSeconds(120), cluster.Schedulers.Describe, 500);
        await Polling.UntilAsync(() => Task.FromResult(cluster.RunningContainersByTask("roll").Sum(c => c.Value.Count) == 4), "four containers are left", TimeSpan.FromSeconds(30));
        await sampling.CancelAsync();
        await sampler;

        var running = (await cluster.Tasks.ListTasksAsync(new ListTasksRequest { Service = "roll" })).TaskIds;
        var tasks = await cluster.DescribeAllAsync(running);
        var containers = cluster.RunningContainersByTask("roll");
        TestContext.Out.WriteLine($"{samples.Count} samples, {samples.Min()}..{samples.Max()} containers");
        Assert.Multiple(() =>
        {
            Assert.That(samples, Is.Not.Empty);
            Assert.That(samples.Min(), Is.GreaterThanOrEqualTo(2), "minimumHealthyPercent 50 of 4");
            Assert.That(samples.Max(), Is.LessThanOrEqualTo(8), "maximumPercent 200 of 4");
            Assert.That(tasks.Select(t => t.TaskDefinitionArn), Is.EqualTo(Enumerable.Repeat("roll:2", 4)));
            Assert.That(containers.Keys, Is.EquivalentTo(running));
        });
    }

    /// <summary>Whether the call failed because nothing listens on the scheduler's port (a scheduler restarting).</summary>
    private static bool IsNotListening(RpcException e) =>
        e.StatusCode == StatusCode.Unavailable && e.Status.DebugException is System.Net.Sockets.SocketException or HttpRequestException { InnerException: System.Net.Sockets.SocketException };

    /// <summary>The member etcd's raft elected leader, as `etcdctl endpoint status` tells it.</summary>
    private static EtcdCluster.EtcdMember RaftLeaderOf(EtcdCluster etcd)
    {
        var (code, output) = ShellCommand.Run("etcdctl", "--endpoints", etcd.Endpoints, "endpoint", "status", "-w", "json");
        Assert.That(code, Is.Zero, output);
        using var status = System.Text.Json.JsonDocument.Parse(output);
        var endpoints = status.RootElement.EnumerateArray().ToList();
        var leaderId = endpoints[0].GetProperty("Status").GetProperty("leader").GetUInt64();
        var leaderUrl = endpoints.Single(e => e.GetProperty("Status").GetProperty("header").GetProperty("member_id").GetUInt64() == leaderId).GetProperty("Endpoint").GetString();
        return etcd.Members.Single(m => m.ClientUrl == leaderUrl);
    }

    /// <summary>Whether the service's only deployment is of that revision and COMPLETED.</summary>
    private static async Task<bool> RolloutOfAsync(HaCluster cluster, string revision) =>
        (await cluster.Services.DescribeServicesAsync(new DescribeServicesRequest { Services = { "roll" } })).Services.Single().Deployments
            is [{ RolloutState: "COMPLETED" } only] && only.TaskDefinition == revision;

    /// <summary>
    /// RunTask with this token until it places its task: a call answered only NO_ACTIVE_NODES (the agent
    /// not yet over to a new leader) leaves no receipt, so the same token may place later. Bounded: 60 s.
    /// </summary>
    private static async Task<RunTaskResponse> RunUntilPlacedAsync(HaCluster cluster, string token, string family = "burst", CallInvoker? through = null)
    {
        var client = new TaskService.TaskServiceClient(through ?? cluster.Schedulers.Failover);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var answer = await client.RunTaskAsync(new RunTaskRequest { TaskDefinition = family, ClientToken = token }, deadline: DateTime.UtcNow.AddSeconds(30));
            if (answer.Tasks.Count > 0)
            {
                return answer;
            }

            if (answer.Failures.Any(f => f.Reason != "NO_ACTIVE_NODES") || DateTime.UtcNow > deadline)
            {
                Assert.Fail($"RunTask {token} did not place: {string.Join("; ", answer.Failures.Select(f => $"{f.Reason}: {f.Detail}"))}\n{cluster.Schedulers.Describe()}");
            }

            await Task.Delay(250);
        }
    }

    private static Task WaitUntilRunningAsync(HaCluster cluster, IReadOnlyCollection<string> taskIds) =>
        Polling.UntilAsync(async () => (await cluster.DescribeAllAsync(taskIds)).All(t => t.LastStatus == TaskStatus.Running),
            $"{taskIds.Count} tasks are RUNNING", TimeSpan.FromSeconds(90), cluster.Schedulers.Describe);
}
