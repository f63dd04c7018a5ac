using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Balancer.Apply;
using Orchestrator.Balancer.Haproxy;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Balancer.Tests;

/// <summary>
/// The balancer's core (the applier) against a real HAProxy 2.6 on loopback, with in-process HTTP servers
/// as targets, driven by assignments directly (no scheduler).
/// </summary>
[NonParallelizable]
public sealed class HaproxyIntegrationTests
{
    private static readonly HealthCheckSettings Check = new(true, "/health", "200", 1, 1, 2, 2);

    private HaproxyProcess _haproxy = null!;
    private BalancerApplier _applier = null!;
    private HaproxyRuntime _runtime = null!;
    private HttpClient _http = null!;
    private readonly List<TinyHttpServer> _servers = [];

    [SetUp]
    public async Task SetUp()
    {
        _haproxy = new HaproxyProcess();
        await _haproxy.StartAsync();
        _runtime = new HaproxyRuntime(_haproxy.AdminSocket, _haproxy.MasterSocket);
        _applier = NewApplier();
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero, MaxConnectionsPerServer = 64 }) { Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.ConnectionClose = true;
    }

    [TearDown]
    public void TearDown()
    {
        _http.Dispose();
        foreach (var server in _servers)
        {
            server.Dispose();
        }

        _servers.Clear();
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed && File.Exists(_haproxy.LogPath))
        {
            TestContext.Out.WriteLine(File.ReadAllText(_haproxy.LogPath));
        }

        _haproxy.Dispose();
    }

    private BalancerApplier NewApplier() => new(
        _runtime,
        new BindPortCheck(),
        new ApplierSettings("lb-test", _haproxy.ConfigPath, _haproxy.StateFile, _haproxy.AdminSocket, "127.0.0.1", TimeSpan.FromSeconds(15)),
        TimeProvider.System,
        NullLogger<BalancerApplier>.Instance);

    private TinyHttpServer Server(string name)
    {
        var server = new TinyHttpServer(name);
        _servers.Add(server);
        return server;
    }

    private static DesiredTarget Target(TinyHttpServer server, int weight = 100, bool draining = false) =>
        new(server.Name, "127.0.0.1", server.Port, weight, draining);

    private static DesiredGroup Group(string name, int port, params DesiredTarget[] targets) => new(name, true, port, Check, targets);

    /// <summary>
    /// Applies until every group is ACTIVE (but those named to fail) and every target of them UP (draining
    /// ones aside), and the next pass has nothing left to change, or fails naming the last report.
    /// </summary>
    private Task<BalancerReport> ApplyUntilUpAsync(params DesiredGroup[] groups) => ApplyUntilUpAsync([], groups);

    private async Task<BalancerReport> ApplyUntilUpAsync(string[] failing, params DesiredGroup[] groups)
    {
        BalancerReport report = new();
        await Polling.UntilAsync(
            async () =>
            {
                report = await _applier.ReconcileAsync(groups, CancellationToken.None);
                return report.TargetGroups.All(g => g.State == (failing.Contains(g.TargetGroup) ? ReportBuilder.Failed : ReportBuilder.Active))
                    && report.TargetGroups.SelectMany(g => g.Targets).All(t => t.Draining || t.CheckState == "UP")
                    && Orchestrator.Balancer.Reconcile.Reconciler.Plan(groups, await _runtime.ServersStateAsync(CancellationToken.None)).Commands.Count == 0;
            },
            "every target is UP",
            TimeSpan.FromSeconds(30),
            () => report.ToString(),
            200);
        return report;
    }

    private async Task<string> GetAsync(int port, string path = "/") =>
        await _http.GetStringAsync(new Uri($"http://127.0.0.1:{port}{path}"));

    [Test]
    public async Task AnAssignmentIsServed()
    {
        var a = Server("a");
        var b = Server("b");
        var port = HaproxyProcess.FreePort();
        var report = await ApplyUntilUpAsync(Group("web", port, Target(a), Target(b)));

        var group = report.TargetGroups.Single();
        Assert.That((group.State, group.Targets.Count), Is.EqualTo((ReportBuilder.Active, 2)), report.ToString);
        Assert.That(group.Targets.Select(t => t.CheckDescription), Has.All.StartWith("L7OK"));
        var answers = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            answers.Add(await GetAsync(port));
        }

        Assert.That(answers.Distinct().Order(), Is.EqualTo(new[] { "a", "b" }));
        Assert.That(File.ReadAllText(_haproxy.ConfigPath), Does.Contain("backend be_web"));
    }

    [Test]
    public async Task ANewTargetIsInitialUntilItsChecksPassAndTakesNoRequestsBefore()
    {
        var a = Server("a");
        var port = HaproxyProcess.FreePort();
        await ApplyUntilUpAsync(Group("web", port, Target(a)));
        var b = Server("b");
        var report = await _applier.ReconcileAsync([Group("web", port, Target(a), Target(b))], CancellationToken.None);

        var fresh = report.TargetGroups.Single().Targets.Single(t => t.Id == "b");
        Assert.That(fresh.CheckState, Is.EqualTo("INITIAL"), report.ToString);
        for (var i = 0; i < 10; i++)
        {
            var stat = await _runtime.CommandAsync("show stat", CancellationToken.None);
            Assert.That(await GetAsync(port), Is.EqualTo("a"), () => stat);
        }
    }

    [Test]
    public async Task ARemovedTargetGetsNoMoreRequests()
    {
        var a = Server("a");
        var b = Server("b");
        var port = HaproxyProcess.FreePort();
        await ApplyUntilUpAsync(Group("web", port, Target(a), Target(b)));
        await ApplyUntilUpAsync(Group("web", port, Target(a)));
        var before = b.Requests;

        for (var i = 0; i < 10; i++)
        {
            Assert.That(await GetAsync(port), Is.EqualTo("a"));
        }

        Assert.That(b.Requests, Is.EqualTo(before));
        var live = (await _runtime.ServersStateAsync(CancellationToken.None)).Where(s => !s.Maintenance).ToList();
        Assert.That(live.Select(s => s.Port), Is.EqualTo(new[] { a.Port }));
    }

    [Test]
    public async Task ADrainingTargetFinishesItsRequestAndTakesNoNewOnes()
    {
        var a = Server("a");
        var b = Server("b");
        var port = HaproxyProcess.FreePort();
        await ApplyUntilUpAsync(Group("web", port, Target(a)));
        var slow = GetAsync(port, "/slow");
        await Polling.UntilAsync(() => Task.FromResult(a.SlowStarted == 1), "the slow request reached a", TimeSpan.FromSeconds(10));

        var report = await ApplyUntilUpAsync(Group("web", port, Target(a, draining: true), Target(b)));
        var draining = report.TargetGroups.Single().Targets.Single(t => t.Id == "a");
        Assert.That((draining.Draining, draining.CurrentConnections), Is.EqualTo((true, 1)));
        for (var i = 0; i < 10; i++)
        {
            Assert.That(await GetAsync(port), Is.EqualTo("b"));
        }

        Assert.That(slow.IsCompleted, Is.False);
        a.ReleaseSlow();
        Assert.That(await slow, Is.EqualTo("a"));
    }

    [Test]
    public async Task WeightsSplitTheRequests()
    {
        var a = Server("a");
        var b = Server("b");
        var port = HaproxyProcess.FreePort();
        await ApplyUntilUpAsync(Group("web", port, Target(a, 10), Target(b, 90)));

        var answers = new List<string>();
        for (var i = 0; i < 100; i++)
        {
            answers.Add(await GetAsync(port));
        }

        Assert.That(answers.Count(x => x == "a"), Is.InRange(5, 15));
    }

    [Test]
    public async Task ARestartedHaproxyIsResyncedWithNothingDuplicated()
    {
        var a = Server("a");
        var b = Server("b");
        var port = HaproxyProcess.FreePort();
        var group = Group("web", port, Target(a), Target(b));
        await ApplyUntilUpAsync(group);

        _haproxy.Stop();
        var down = await _applier.ReconcileAsync([group], CancellationToken.None);
        Assert.That(down.TargetGroups.Single().State, Is.EqualTo(ReportBuilder.Failed));
        Assert.That(down.TargetGroups.Single().Reason, Does.Contain("haproxy is not running"));

        await _haproxy.StartAsync();
        await ApplyUntilUpAsync(group);
        await ApplyUntilUpAsync(group);
        var live = (await _runtime.ServersStateAsync(CancellationToken.None)).Where(s => !s.Maintenance).ToList();
        Assert.That(live.Select(s => s.Port).Order(), Is.EqualTo(new[] { a.Port, b.Port }.Order()));
        var answers = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            answers.Add(await GetAsync(port));
        }

        Assert.That(answers.Distinct().Order(), Is.EqualTo(new[] { "a", "b" }));
    }

    [Test]
    public async Task ABalancerRestartedKeepsTheSlotsAsTheyAre()
    {
        var a = Server("a");
        var port = HaproxyProcess.FreePort();
        var group = Group("web", port, Target(a));
        await ApplyUntilUpAsync(group);

        _applier = NewApplier();
        await ApplyUntilUpAsync(group);
        var live = (await _runtime.ServersStateAsync(CancellationToken.None)).Where(s => !s.Maintenance).ToList();
        Assert.That(live.Select(s => s.Port), Is.EqualTo(new[] { a.Port }));
        Assert.That(await GetAsync(port), Is.EqualTo("a"));
    }

    [Test]
    public async Task APortInUseFailsItsGroupOnly()
    {
        var a = Server("a");
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var busy = ((IPEndPoint)squatter.LocalEndpoint).Port;
        var port = HaproxyProcess.FreePort();

        var report = await ApplyUntilUpAsync(["busy"], Group("web", port, Target(a)), Group("busy", busy, Target(a)));

        var failed = report.TargetGroups.Single(g => g.TargetGroup == "busy");
        Assert.That((failed.State, failed.Reason), Is.EqualTo((ReportBuilder.Failed, $"port {busy} is in use on balancer lb-test")));
        Assert.That(report.TargetGroups.Single(g => g.TargetGroup == "web").State, Is.EqualTo(ReportBuilder.Active));
        Assert.That(await GetAsync(port), Is.EqualTo("a"));
        Assert.That(File.ReadAllText(_haproxy.ConfigPath), Does.Not.Contain("be_busy"));
    }

    private sealed class EveryPortFree : IPortCheck
    {
        public string? WhyNotFree(string address, int port) => null;
    }

    [Test]
    public async Task AConfigurationHaproxyRefusesLeavesTheOldOneServingAndItsGroupFailed()
    {
        var a = Server("a");
        var port = HaproxyProcess.FreePort();
        await ApplyUntilUpAsync(Group("web", port, Target(a)));

        // The check is fooled: HAProxy itself finds the port taken, and refuses the whole new configuration.
        _applier = new BalancerApplier(
            _runtime,
            new EveryPortFree(),
            new ApplierSettings("lb-test", _haproxy.ConfigPath, _haproxy.StateFile, _haproxy.AdminSocket, "127.0.0.1", TimeSpan.FromSeconds(15)),
            TimeProvider.System,
            NullLogger<BalancerApplier>.Instance);
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var busy = ((IPEndPoint)squatter.LocalEndpoint).Port;
        var report = await _applier.ReconcileAsync([Group("web", port, Target(a)), Group("busy", busy, Target(a))], CancellationToken.None);

        var failed = report.TargetGroups.Single(g => g.TargetGroup == "busy");
        Assert.That(failed.State, Is.EqualTo(ReportBuilder.Failed));
        Assert.That(failed.Reason, Does.Contain("haproxy refused the new configuration"));
        Assert.That(File.ReadAllText(_haproxy.ConfigPath), Does.Not.Contain("be_busy"));
        Assert.That(report.TargetGroups.Single(g => g.TargetGroup == "web").State, Is.EqualTo(ReportBuilder.Active));
        Assert.That(await GetAsync(port), Is.EqualTo("a"));
    }

    [Test]
    public async Task GroupsAddedAndRemovedKeepTheirTargets()
    {
        var a = Server("a");
        var b = Server("b");
        var webPort = HaproxyProcess.FreePort();
        var apiPort = HaproxyProcess.FreePort();
        await ApplyUntilUpAsync(Group("web", webPort, Target(a)));

        // "api" sorts before "web": the reload keeps web's slot by name through the state file.
        var report = await ApplyUntilUpAsync(Group("api", apiPort, Target(b)), Group("web", webPort, Target(a)));
        Assert.That(report.TargetGroups.Select(g => g.State), Has.All.EqualTo(ReportBuilder.Active));
        Assert.That(await GetAsync(apiPort), Is.EqualTo("b"));
        Assert.That(await GetAsync(webPort), Is.EqualTo("a"));

        await ApplyUntilUpAsync(Group("web", webPort, Target(a)));
        Assert.That(File.ReadAllText(_haproxy.ConfigPath), Does.Not.Contain("be_api"));
        Assert.That(await GetAsync(webPort), Is.EqualTo("a"));
    }

    [Test]
    public async Task MoreTargetsThanSlotsGrowTheBackend()
    {
        var port = HaproxyProcess.FreePort();
        var first = Enumerable.Range(0, 3).Select(i => Server($"t{i}")).ToList();
        await ApplyUntilUpAsync(Group("web", port, [.. first.Select(s => Target(s))]));
        var all = first.Concat(Enumerable.Range(3, 7).Select(i => Server($"t{i}"))).ToList();

        var report = await ApplyUntilUpAsync(Group("web", port, [.. all.Select(s => Target(s))]));

        Assert.That(report.TargetGroups.Single().Targets.Select(t => t.CheckState), Has.All.EqualTo("UP"));
        Assert.That((await _runtime.ServersStateAsync(CancellationToken.None)).Count(s => s.Backend == "be_web"), Is.EqualTo(16));
        var answers = new HashSet<string>();
        for (var i = 0; i < 30; i++)
        {
            answers.Add(await GetAsync(port));
        }

        Assert.That(answers, Has.Count.EqualTo(10));
    }

    [Test]
    public async Task HaproxyNotRunningFailsEveryGroup()
    {
        _haproxy.Stop();
        var report = await _applier.ReconcileAsync([Group("web", HaproxyProcess.FreePort()), Group("api", HaproxyProcess.FreePort())], CancellationToken.None);
        Assert.That(report.TargetGroups.Select(g => g.State), Has.All.EqualTo(ReportBuilder.Failed));
        Assert.That(report.TargetGroups.Select(g => g.Reason), Has.All.EqualTo($"haproxy is not running (no admin socket at {_haproxy.AdminSocket})"));
        Assert.That(File.ReadAllText(_haproxy.ConfigPath), Does.Contain("backend be_web"));
    }
}
