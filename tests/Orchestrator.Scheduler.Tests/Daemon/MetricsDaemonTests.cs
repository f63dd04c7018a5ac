using System.Net;
using System.Net.Sockets;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Daemon;

/// <summary>The scheduler process's Prometheus endpoint: HTTP/1.1 on a port of its own, next to the TLS gRPC port.</summary>
internal sealed class MetricsDaemonTests
{
    private string _directory = "";

    private string DbPath => Path.Combine(_directory, "scheduler.db");

    [SetUp]
    public void MakeDirectory() => _directory = Directory.CreateTempSubdirectory("orchestrator-metrics-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public async Task Metrics_are_served_over_http_1_1_on_their_own_port_and_move_with_runtask()
    {
        var port = DaemonProcess.FreePort();
        var metricsPort = DaemonProcess.FreePort();
        using var daemon = DaemonProcess.StartScheduler(DbPath, port, $"--Scheduler:MetricsListen=127.0.0.1:{metricsPort}");
        using var channel = SchedulerChannel.ForDaemon(port, _directory);
        await daemon.RequireServingAsync(channel);
        using var http = new HttpClient { DefaultRequestVersion = HttpVersion.Version11, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

        var before = await ScrapeAsync(http, metricsPort);
        await new TaskDefinitionService.TaskDefinitionServiceClient(channel).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
        {
            Family = "web",
            ContainerDefinitions = { new ContainerDefinition { Name = "app", Image = "busybox", Memory = 64 } },
        });
        var run = await new TaskService.TaskServiceClient(channel).RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
        var after = await ScrapeAsync(http, metricsPort);

        Assert.Multiple(() =>
        {
            Assert.That(run.Failures, Has.Count.EqualTo(1), "no node: the placement fails");
            Assert.That(after.Value("orchestrator_runtask_duration_seconds_count") - before.ValueOrZero("orchestrator_runtask_duration_seconds_count"), Is.EqualTo(1));
            Assert.That(after.Value("orchestrator_placements_total", ("result", "failed"), ("reason", run.Failures[0].Reason)), Is.EqualTo(1));
            Assert.That(after.Value("orchestrator_tasks", ("status", "RUNNING")), Is.Zero);
            Assert.That(after.Value("orchestrator_nodes", ("status", "ACTIVE"), ("connected", "false")), Is.Zero);
        });
    }

    [Test]
    public void A_metrics_port_in_use_stops_it_with_one_line_and_exit_code_3()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var metricsPort = ((IPEndPoint)taken.LocalEndpoint).Port;
        using var daemon = DaemonProcess.StartScheduler(DbPath, DaemonProcess.FreePort(), $"--Scheduler:MetricsListen=127.0.0.1:{metricsPort}");
        Assert.Multiple(() =>
        {
            Assert.That(daemon.WaitForExit(), Is.EqualTo(3));
            Assert.That(daemon.StandardError, Is.EqualTo(new[] { $"orchestrator-scheduler: cannot listen on 127.0.0.1:{metricsPort} (Scheduler:MetricsListen): address already in use" }));
        });
    }

    [Test]
    public void A_metrics_address_that_is_not_one_is_a_bad_setting()
    {
        using var daemon = DaemonProcess.StartScheduler(DbPath, DaemonProcess.FreePort(), "--Scheduler:MetricsListen=nowhere");
        Assert.Multiple(() =>
        {
            Assert.That(daemon.WaitForExit(), Is.EqualTo(1));
            Assert.That(daemon.StandardError, Is.EqualTo(new[] { "orchestrator-scheduler: bad setting: Scheduler:MetricsListen must be an address and port such as 127.0.0.1:9400, not \"nowhere\"" }));
        });
    }

    private static async Task<IReadOnlyList<PrometheusSample>> ScrapeAsync(HttpClient http, int port)
    {
        using var response = await http.GetAsync($"http://127.0.0.1:{port}/metrics");
        Assert.That(response.Version, Is.EqualTo(HttpVersion.Version11));
        response.EnsureSuccessStatusCode();
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
    }
}
