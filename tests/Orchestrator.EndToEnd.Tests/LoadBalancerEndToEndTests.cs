using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>
/// Services behind a real HAProxy driven by a real orchestrator-balancer, on real scheduler and agent
/// processes and Docker: targets follow the tasks, rolling deployments and a killed container cost no
/// request, a scale-in lets a request in flight finish, task sets share traffic by scale, and a restarted
/// balancer or HAProxy resyncs. One cluster, balancer and HAProxy for the fixture; each test its own
/// service and target group (its own port), removed after it.
/// </summary>
[NonParallelizable]
internal sealed class LoadBalancerEndToEndTests
{
    private const string Family = "lbweb";
    private BalancedCluster _lb = null!;
    private string? _service;
    private string? _group;

    /// <summary>
    /// The hostname-answering busybox httpd of <see cref="RollingTarget"/> with a slow CGI too:
    /// /cgi-bin/slow answers its hostname once /tmp/go exists in the container (at most 60 s), so that
    /// a test decides when a request in flight ends instead of racing a sleep.
    /// </summary>
    private static ContainerDefinition Web() => new()
    {
        Name = "web",
        Image = Docker.TestImage,
        Command =
        {
            "sh", "-c",
            "mkdir -p /tmp/www/cgi-bin && hostname > /tmp/www/index.html"
            + " && printf '#!/bin/sh\\ni=0\\nwhile [ ! -f /tmp/go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\\necho Content-Type: text/plain\\necho\\nhostname\\n' > /tmp/www/cgi-bin/slow"
            + " && chmod +x /tmp/www/cgi-bin/slow && exec httpd -f -p 8080 -h /tmp/www",
        },
        Memory = 32,
        PortMappings = { new PortMapping { ContainerPort = RollingTarget.ContainerPort } },
        StopTimeoutSeconds = 2,
    };

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _lb = await BalancedCluster.StartAsync();
        await _lb.Cluster.RegisterAsync(Family, Web());
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_lb is not null)
        {
            await _lb.DisposeAsync();
        }
    }

    [TearDown]
    public async Task CleanUpAsync()
    {
        // A test that failed while the balancer or HAProxy was down leaves them running for the next one.
        if (_lb.Balancer is null or { HasExited: true })
        {
            _lb.StartBalancer();
        }

        if (!await HaproxyProcess.AnswersAsync(_lb.Haproxy.AdminSocket))
        {
            await _lb.Haproxy.StartAsync();
        }

        if (_service is not null && _group is not null)
        {
            await _lb.CleanUpAsync(_service, _group);
        }

        _service = _group = null;
    }

    private async Task<TargetGroup> GroupAndServiceAsync(string name, int deregistrationDelaySeconds)
    {
        _service = name;
        _group = name + "-tg";
        return await _lb.CreateTargetGroupAsync(_group, deregistrationDelaySeconds);
    }

    private async Task<List<string>> AnswersAsync(int port, int count)
    {
        var answers = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var answer = await BalancedCluster.GetAsync(port);
            answers.Add(answer is { Status: 200 } ok ? ok.Body : $"failed: {answer?.Status.ToString() ?? "no answer"}");
        }

        return answers;
    }

    [Test]
    public async Task Targets_appear_when_tasks_run_and_go_when_they_stop()
    {
        var group = await GroupAndServiceAsync("appear", deregistrationDelaySeconds: 0);
        await _lb.CreateServiceAsync("appear", Family, 2, group.Name);
        var tasks = await _lb.WaitForServiceAsync("appear", group.Name, 2);
        var backends = tasks.Select(BalancedCluster.BackendOf).Order(StringComparer.Ordinal).ToList();

        var targets = await _lb.TargetsAsync(group.Name);
        var answers = await AnswersAsync(group.Port, 20);
        Assert.Multiple(() =>
        {
            Assert.That(targets.Select(t => (t.Target.Host, t.Target.Port)),
                Is.EquivalentTo(tasks.Select(t => ("127.0.0.1", t.Containers.Single().NetworkBindings.Single().HostPort))));
            Assert.That(answers.Distinct().Order(StringComparer.Ordinal), Is.EqualTo(backends), "every task answers through HAProxy, and only they");
        });

        await _lb.Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "appear", DesiredCount = 0 });
        await Cluster.EventuallyAsync(async () => (await _lb.TargetsAsync(group.Name)).Count == 0, "no target is left", _lb.Explain);
        await Cluster.EventuallyAsync(async () => await BalancedCluster.GetAsync(group.Port) is { Status: 503 }, "HAProxy answers 503: no server", _lb.Explain);
    }

    /// <param name="keepAlive">False: each request on a new connection; true: the client keeps its connections, so HAProxy's frontend connections outlive the targets.</param>
    [TestCase(false)]
    [TestCase(true)]
    public async Task A_rolling_deployment_behind_the_balancer_fails_no_request(bool keepAlive)
    {
        var name = keepAlive ? "rolling-ka" : "rolling";
        var group = await GroupAndServiceAsync(name, deregistrationDelaySeconds: 5);
        await _lb.CreateServiceAsync(name, Family, 3, group.Name,
            new DeploymentConfiguration { MinimumHealthyPercent = 100, MaximumPercent = 200 });
        var old = (await _lb.WaitForServiceAsync(name, group.Name, 3)).Select(BalancedCluster.BackendOf).ToHashSet(StringComparer.Ordinal);

        await using var client = SteadyHttpClient.Start(SteadyHttpOptions.For($"http://127.0.0.1:{group.Port}/", ratePerSecond: 20, maxDuration: TimeSpan.FromMinutes(2), keepAlive: keepAlive));
        await Cluster.EventuallyAsync(async () => { await Task.CompletedTask; return client.Results.Count(r => r.Ok) >= 10; }, "the client is answered");
        await _lb.Services.UpdateServiceAsync(new UpdateServiceRequest { Service = name, ForceNewDeployment = true });
        List<Contracts.V1.Task> running = [];
        await Cluster.EventuallyAsync(
            async () =>
            {
                var service = await _lb.Cluster.DescribeServiceAsync(name);
                running = await _lb.Cluster.RunningTasksOfAsync(name);
                return service.Deployments is [{ RolloutState: "COMPLETED" }] && running.Count == 3 && !running.Any(t => old.Contains(BalancedCluster.BackendOf(t)));
            },
            "the new deployment completes with three new tasks", _lb.Explain, seconds: 120);
        await _lb.WaitForHealthyTargetsAsync(group.Name, running.Select(t => t.TaskId));
        var fresh = running.Select(BalancedCluster.BackendOf).ToHashSet(StringComparer.Ordinal);
        await Cluster.EventuallyAsync(async () => await Task.FromResult(_lb.Cluster.RunningContainersByTask(name).Count == 3), "the old containers are gone");
        var settled = client.Elapsed;
        await Cluster.EventuallyAsync(
            async () => await Task.FromResult(fresh.IsSubsetOf(client.Results.Where(r => r.Ok && r.SentAt > settled).Select(r => r.Body!))),
            "every new task answers");
        var results = await client.StopAsync();
        var summary = SteadyHttpSummary.Of(results);
        var after = results.Where(r => r.SentAt > settled && r.Ok).Select(r => r.Body!).ToHashSet(StringComparer.Ordinal);
        Assert.Multiple(() =>
        {
            Assert.That(summary.Failed, Is.Zero, summary.ToString());
            Assert.That(summary.Backends.Select(b => b.Key), Is.SupersetOf(old), "the old tasks answered before");
            Assert.That(after, Is.EquivalentTo(fresh), "by the end only the new tasks answer");
        });
    }

    [Test]
    public async Task A_killed_container_leaves_the_rotation_and_is_replaced()
    {
        var group = await GroupAndServiceAsync("killed", deregistrationDelaySeconds: 0);
        await _lb.CreateServiceAsync("killed", Family, 2, group.Name);
        var tasks = await _lb.WaitForServiceAsync("killed", group.Name, 2);
        var victim = tasks[0];
        await using var client = SteadyHttpClient.Start(SteadyHttpOptions.For($"http://127.0.0.1:{group.Port}/", ratePerSecond: 20, maxDuration: TimeSpan.FromMinutes(2)));

        Docker.Run("kill", victim.Containers.Single().RuntimeId);
        await Cluster.EventuallyAsync(
            async () => (await _lb.TargetsAsync(group.Name)).Where(t => t.Target.Id == victim.TaskId).All(t => t.Health.State == "UNHEALTHY"),
            "the killed task's target is UNHEALTHY or gone", _lb.Explain);
        List<Contracts.V1.Task> running = [];
        await Cluster.EventuallyAsync(
            async () => (running = await _lb.Cluster.RunningTasksOfAsync("killed")).Count == 2 && running.All(t => t.TaskId != victim.TaskId),
            "a replacement runs", _lb.Explain);
        await _lb.WaitForHealthyTargetsAsync(group.Name, running.Select(t => t.TaskId));

        var replaced = client.Elapsed;
        var fresh = running.Select(BalancedCluster.BackendOf).ToHashSet(StringComparer.Ordinal);
        await Cluster.EventuallyAsync(
            async () => await Task.FromResult(client.Results.Count(r => r.SentAt > replaced) >= 20
                && fresh.IsSubsetOf(client.Results.Where(r => r.Ok && r.SentAt > replaced).Select(r => r.Body!))),
            "twenty requests more, the survivor and the replacement answer");
        var results = await client.StopAsync();
        var after = SteadyHttpSummary.Of(results.Where(r => r.SentAt > replaced));
        TestContext.Out.WriteLine($"a killed container under 20 requests/s: {SteadyHttpSummary.Of(results)}; after the replacement: {after}");
        Assert.Multiple(() =>
        {
            Assert.That(after.Failed, Is.Zero, "every request succeeds once the replacement is in: " + after);
            Assert.That(after.Backends.Select(b => b.Key), Is.EquivalentTo(fresh), "answered by the survivor and the replacement");
        });
    }

    [Test]
    public async Task A_scale_in_lets_a_slow_request_in_flight_finish_before_the_task_stops()
    {
        var group = await GroupAndServiceAsync("slow", deregistrationDelaySeconds: 30);
        await _lb.CreateServiceAsync("slow", Family, 1, group.Name);
        var task = (await _lb.WaitForServiceAsync("slow", group.Name, 1)).Single();

        var slow = SlowRequestAsync(group.Port);
        await Cluster.EventuallyAsync(async () => (await _lb.TargetsAsync(group.Name)).Single().CurrentConnections > 0,
            "the balancer reports the slow request's connection", _lb.Explain, seconds: 10);
        await _lb.Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "slow", DesiredCount = 0 });
        await Cluster.EventuallyAsync(async () => (await _lb.Cluster.DescribeAsync(task.TaskId)).LastStatus == TaskStatus.Deactivating,
            "the task is DEACTIVATING", _lb.Explain, seconds: 10);
        var drainingTarget = (await _lb.TargetsAsync(group.Name)).SingleOrDefault();
        var whileInFlight = await _lb.Cluster.DescribeAsync(task.TaskId);

        // The request is held in its CGI until now: the task must still run (DEACTIVATING, not stopped),
        // and the request then ends with its task's answer, which a stopped task could not give.
        Assert.That(Docker.Run("exec", task.Containers.Single().RuntimeId, "touch", "/tmp/go").ExitCode, Is.Zero, "the slow request let go");
        var answer = await slow;
        await _lb.Cluster.WaitForAsync(task.TaskId, TaskStatus.Stopped);
        Assert.Multiple(() =>
        {
            Assert.That(whileInFlight.LastStatus, Is.EqualTo(TaskStatus.Deactivating), "draining while the request is in flight");
            Assert.That(drainingTarget?.Health.State, Is.EqualTo("DRAINING"));
            Assert.That(answer, Is.EqualTo(((int Status, string Body)?)(200, BalancedCluster.BackendOf(task))), "the slow request is answered by its task");
        });
    }

    /// <summary>A GET of the slow CGI through HAProxy (it answers once the test lets it).</summary>
    private static Task<(int Status, string Body)?> SlowRequestAsync(int port) => BalancedCluster.GetAsync(port, "/cgi-bin/slow", timeoutSeconds: 60);

    [Test]
    public async Task A_canary_task_set_takes_its_share_and_then_all_traffic()
    {
        var group = await GroupAndServiceAsync("canary", deregistrationDelaySeconds: 2);
        await _lb.Services.CreateServiceAsync(new CreateServiceRequest
        {
            ServiceName = "canary",
            DesiredCount = 3,
            DeploymentController = new DeploymentController { Type = "EXTERNAL" },
            LoadBalancers = { new LoadBalancer { TargetGroup = group.Name, ContainerName = "web", ContainerPort = RollingTarget.ContainerPort } },
        });
        var blue = (await _lb.Services.CreateTaskSetAsync(new CreateTaskSetRequest { Service = "canary", TaskDefinition = Family, Scale = new Scale { Value = 100, Unit = "PERCENT" } })).TaskSet;
        var green = (await _lb.Services.CreateTaskSetAsync(new CreateTaskSetRequest { Service = "canary", TaskDefinition = Family, Scale = new Scale { Value = 10, Unit = "PERCENT" } })).TaskSet;
        var tasks = await _lb.WaitForServiceAsync("canary", group.Name, 4);
        var targets = await _lb.TargetsAsync(group.Name);
        var backendOf = tasks.ToDictionary(t => t.TaskId, BalancedCluster.BackendOf);
        var greenBackends = targets.Where(t => t.Target.TaskSet == green.Id).Select(t => backendOf[t.Target.Id]).ToHashSet(StringComparer.Ordinal);
        Assert.That(greenBackends, Has.Count.EqualTo(1), "green (10 % of 3) runs one task");

        var answers = await ConcurrentAnswersAsync(group.Port, 1000);
        var greenShare = answers.Count(greenBackends.Contains) / 1000.0;
        Assert.Multiple(() =>
        {
            Assert.That(answers.Count(a => a.StartsWith("failed", StringComparison.Ordinal)), Is.Zero);
            Assert.That(greenShare, Is.InRange(0.05, 0.15), $"green's share of 1000 requests; weights {string.Join(", ", targets.Select(t => $"{t.Target.TaskSet}:{t.Weight}"))}");
        });

        await _lb.Services.UpdateServicePrimaryTaskSetAsync(new UpdateServicePrimaryTaskSetRequest { Service = "canary", PrimaryTaskSet = green.Id });
        await _lb.Services.UpdateTaskSetAsync(new UpdateTaskSetRequest { Service = "canary", TaskSet = green.Id, Scale = new Scale { Value = 100, Unit = "PERCENT" } });
        await _lb.Services.DeleteTaskSetAsync(new DeleteTaskSetRequest { Service = "canary", TaskSet = blue.Id });
        List<TargetHealthDescription> final = [];
        await Cluster.EventuallyAsync(
            async () => (final = await _lb.TargetsAsync(group.Name)).Count == 3 && final.All(t => t.Target.TaskSet == green.Id && t.Health.State == "HEALTHY"),
            "green's three tasks are the only targets, all HEALTHY", _lb.Explain, seconds: 90);
        var greenTasks = await _lb.Cluster.DescribeAllAsync(final.Select(t => t.Target.Id));
        var after = await ConcurrentAnswersAsync(group.Port, 100);
        Assert.That(after.Distinct().Order(StringComparer.Ordinal), Is.EqualTo(greenTasks.Select(BalancedCluster.BackendOf).Order(StringComparer.Ordinal)),
            "every answer comes from green's tasks");
    }

    /// <summary>Requests on new connections, eight at a time: the answers' bodies (or "failed: ...").</summary>
    private static async Task<List<string>> ConcurrentAnswersAsync(int port, int count)
    {
        var answers = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (_, _) =>
        {
            var answer = await BalancedCluster.GetAsync(port);
            answers.Add(answer is { Status: 200 } ok ? ok.Body : $"failed: {answer?.Status.ToString() ?? "no answer"}");
        });
        return [.. answers];
    }

    [Test]
    public async Task A_restarted_balancer_and_a_restarted_haproxy_resync_every_target_once()
    {
        var group = await GroupAndServiceAsync("resync", deregistrationDelaySeconds: 0);
        await _lb.CreateServiceAsync("resync", Family, 2, group.Name);
        var tasks = await _lb.WaitForServiceAsync("resync", group.Name, 2);
        Assert.That((await _lb.ServersInUseAsync(group.Name)).Order(StringComparer.Ordinal), Is.EqualTo(SlotsOf(tasks)), "before: each target in one slot");

        // The balancer killed; while it is away the service grows; started again it catches up.
        var restartedAt = DateTime.UtcNow;
        _lb.Balancer!.KillHard();
        await _lb.Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "resync", DesiredCount = 3 });
        List<Contracts.V1.Task> grown = [];
        await Cluster.EventuallyAsync(async () => (grown = await _lb.Cluster.RunningTasksOfAsync("resync")).Count == 3, "three tasks run");
        _lb.StartBalancer();
        await Cluster.EventuallyAsync(
            async () => (await _lb.TargetGroups.DescribeTargetGroupsAsync(new DescribeTargetGroupsRequest { Names = { group.Name } })).TargetGroups.Single().Balancers
                .Any(b => b.Balancer == BalancedCluster.BalancerName && b.State == "ACTIVE" && b.UpdatedAt.ToDateTime() > restartedAt),
            "the restarted balancer reports the group ACTIVE", _lb.Explain);
        await _lb.WaitForHealthyTargetsAsync(group.Name, grown.Select(t => t.TaskId));
        var afterBalancer = (await _lb.ServersInUseAsync(group.Name)).Order(StringComparer.Ordinal).ToList();

        // HAProxy stopped; while it is away the service shrinks; started again (its state file still
        // holds three servers) the balancer brings it to the two there are.
        _lb.Haproxy.Stop();
        await _lb.Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "resync", DesiredCount = 2 });
        List<Contracts.V1.Task> shrunk = [];
        await Cluster.EventuallyAsync(async () => (shrunk = await _lb.Cluster.RunningTasksOfAsync("resync")).Count == 2 && _lb.Cluster.RunningContainersByTask("resync").Count == 2,
            "two tasks run, the third one's container is gone", _lb.Explain);
        await _lb.Haproxy.StartAsync();
        List<string> afterHaproxy = [];
        await Cluster.EventuallyAsync(
            async () => (afterHaproxy = (await _lb.ServersInUseAsync(group.Name)).Order(StringComparer.Ordinal).ToList()).SequenceEqual(SlotsOf(shrunk)),
            "the restarted HAProxy has each target in one slot", () => string.Join(", ", afterHaproxy) + "\n" + _lb.Explain());
        await _lb.WaitForHealthyTargetsAsync(group.Name, shrunk.Select(t => t.TaskId));
        var answers = await AnswersAsync(group.Port, 10);
        Assert.Multiple(() =>
        {
            Assert.That(afterBalancer, Is.EqualTo(SlotsOf(grown)), "after the balancer's restart: each target once, none lost");
            Assert.That(answers.Distinct().Order(StringComparer.Ordinal), Is.EqualTo(shrunk.Select(BalancedCluster.BackendOf).Order(StringComparer.Ordinal)),
                "after HAProxy's restart only the running tasks answer, every request");
        });
    }

    /// <summary>"127.0.0.1:hostPort" of each task, sorted: the HAProxy slots they should have.</summary>
    private static List<string> SlotsOf(IEnumerable<Contracts.V1.Task> tasks) =>
        [.. tasks.Select(t => $"127.0.0.1:{t.Containers.Single().NetworkBindings.Single().HostPort}").Order(StringComparer.Ordinal)];
}
