using System.Net;
using System.Net.Sockets;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>The agent process's Prometheus endpoint, scraped over HTTP/1.1 while it runs a task on real Docker.</summary>
internal sealed class AgentMetricsEndToEndTests
{
    [Test]
    public async Task Docker_calls_containers_and_reconnects_show_in_the_agents_metrics()
    {
        await using var cluster = await Cluster.StartAsync();
        var metricsPort = DaemonProcess.FreePort();
        await cluster.StartAgentAsync(0, $"--Agent:MetricsListen=127.0.0.1:{metricsPort}");
        using var http = new HttpClient { DefaultRequestVersion = HttpVersion.Version11, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact, Timeout = TimeSpan.FromSeconds(10) };

        // The first agent's node may still count as connected while the new one starts: its endpoint answering tells.
        await Cluster.EventuallyAsync(async () => await AnswersAsync(http, metricsPort), "the agent serves /metrics",
            () => $"the agent {(cluster.Agent!.HasExited ? "exited" : "runs")}; it said:\n" + string.Join("\n", cluster.Agent.StandardError.Concat(cluster.Agent.StandardOutput).TakeLast(20)));
        await cluster.WaitUntilConnectedAsync(0, connected: true);
        var before = await ScrapeAsync(http, metricsPort);
        await cluster.RegisterAsync("sleeper", new ContainerDefinition
        {
            Name = "app",
            Image = Docker.TestImage,
            Command = { "sleep", "300" },
            Memory = 32,
            StopTimeoutSeconds = 1,
        });
        var placed = await cluster.RunAsync("sleeper");
        await cluster.WaitForAsync(placed.TaskId, TaskStatus.Running);
        var running = await ScrapeAsync(http, metricsPort);

        // The scheduler goes away and comes back: the agent's stream is lost and opened again.
        await cluster.RestartSchedulerAsync();
        await cluster.WaitUntilConnectedAsync(0, connected: true);
        var reconnected = await ScrapeAsync(http, metricsPort);

        Assert.Multiple(() =>
        {
            Assert.That(before.Value("orchestrator_agent_containers", ("state", "RUNNING")), Is.Zero);
            Assert.That(running.Value("orchestrator_agent_containers", ("state", "RUNNING")), Is.EqualTo(1));
            Assert.That(running.Value("orchestrator_agent_docker_call_duration_seconds_count", ("operation", "create"), ("outcome", "ok"))
                - before.ValueOrZero("orchestrator_agent_docker_call_duration_seconds_count", ("operation", "create"), ("outcome", "ok")), Is.EqualTo(1));
            Assert.That(running.Value("orchestrator_agent_docker_call_duration_seconds_count", ("operation", "start"), ("outcome", "ok"))
                - before.ValueOrZero("orchestrator_agent_docker_call_duration_seconds_count", ("operation", "start"), ("outcome", "ok")), Is.EqualTo(1));
            Assert.That(running.Value("orchestrator_agent_report_queue_length"), Is.GreaterThanOrEqualTo(0));
            Assert.That(before.ValueOrZero("orchestrator_agent_reconnects_total"), Is.Zero);
            Assert.That(reconnected.Value("orchestrator_agent_reconnects_total"), Is.GreaterThanOrEqualTo(1));
        });
    }

    [Test]
    public async Task A_metrics_port_in_use_stops_the_agent_with_one_line_and_exit_code_3()
    {
        await using var cluster = await Cluster.StartAsync();
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var metricsPort = ((IPEndPoint)taken.LocalEndpoint).Port;
        var agent = cluster.StartAgentProcess(0, $"--Agent:MetricsListen=127.0.0.1:{metricsPort}");
        Assert.Multiple(() =>
        {
            Assert.That(agent.WaitForExit(), Is.EqualTo(3));
            Assert.That(agent.StandardError, Is.EqualTo(new[] { $"orchestrator-agent: cannot listen on 127.0.0.1:{metricsPort} (Agent:MetricsListen): address already in use" }));
        });
    }

    private static async Task<bool> AnswersAsync(HttpClient http, int port)
    {
        try
        {
            using var response = await http.GetAsync($"http://127.0.0.1:{port}/metrics");
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static async Task<IReadOnlyList<PrometheusSample>> ScrapeAsync(HttpClient http, int port)
    {
        using var response = await http.GetAsync($"http://127.0.0.1:{port}/metrics");
        Assert.That(response.Version, Is.EqualTo(HttpVersion.Version11));
        response.EnsureSuccessStatusCode();
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
    }
}
