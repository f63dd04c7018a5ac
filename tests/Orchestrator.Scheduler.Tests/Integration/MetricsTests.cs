using System.Net;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// /metrics of an in-process scheduler, scraped and parsed as Prometheus would. The test server
/// routes by the Host header: the metrics port's (the host's own) is how a request reaches /metrics.
/// </summary>
internal sealed class MetricsTests : SchedulerTest
{
    private async Task<IReadOnlyList<PrometheusSample>> ScrapeAsync()
    {
        using var client = Host.Server.CreateClient();
        using var response = await client.GetAsync($"http://127.0.0.1:{Host.MetricsPort}/metrics");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/plain"));
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task Running_a_task_moves_the_task_gauges_the_runtask_histogram_and_the_placement_counter()
    {
        await RegisterAsync();
        var before = await ScrapeAsync();

        // No node yet: a placement that fails, with its reason.
        var unplaced = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 2 });
        var provisioning = await ScrapeAsync();

        await agent.ReportAsync(run.Tasks[0].TaskId, TaskStatus.Running);
        var running = await ScrapeAsync();

        Assert.Multiple(() =>
        {
            Assert.That(unplaced.Failures, Has.Count.EqualTo(1));
            Assert.That(before.Value("orchestrator_tasks", ("status", "PROVISIONING")), Is.Zero);
            Assert.That(before.Value("orchestrator_nodes", ("status", "ACTIVE"), ("connected", "true")), Is.Zero);
            Assert.That(provisioning.Value("orchestrator_tasks", ("status", "PROVISIONING")), Is.EqualTo(2));
            Assert.That(provisioning.Value("orchestrator_nodes", ("status", "ACTIVE"), ("connected", "true")), Is.EqualTo(1));
            Assert.That(provisioning.Value("orchestrator_runtask_duration_seconds_count") - before.ValueOrZero("orchestrator_runtask_duration_seconds_count"), Is.EqualTo(2));
            Assert.That(provisioning.Value("orchestrator_placement_duration_seconds_count") - before.ValueOrZero("orchestrator_placement_duration_seconds_count"), Is.EqualTo(2));
            Assert.That(provisioning.Value("orchestrator_placements_total", ("result", "placed")), Is.EqualTo(2));
            Assert.That(provisioning.Value("orchestrator_placements_total", ("result", "failed"), ("reason", unplaced.Failures[0].Reason)), Is.EqualTo(1));
            Assert.That(provisioning.Value("orchestrator_store_commit_duration_seconds_count"), Is.GreaterThan(0), "commits were flushed");
            Assert.That(provisioning.Value("orchestrator_store_commit_group_size_sum"), Is.GreaterThanOrEqualTo(provisioning.Value("orchestrator_store_commit_group_size_count")));
            Assert.That(running.Value("orchestrator_tasks", ("status", "RUNNING")), Is.EqualTo(1));
            Assert.That(running.Value("orchestrator_tasks", ("status", "PROVISIONING")), Is.EqualTo(1));
            Assert.That(running.Value("orchestrator_tasks", ("status", "STOPPED")), Is.Zero);
        });
    }

    [Test]
    public async Task Heartbeat_age_and_watchers_are_read_from_memory_at_each_scrape()
    {
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        await agent.HeartbeatAsync();
        var fresh = await ScrapeAsync();
        Host.Clock.Advance(TimeSpan.FromSeconds(7));
        using var watch = Host.Tasks.WatchTasks(new WatchTasksRequest());
        await EventuallyAsync(async () => (await ScrapeAsync()).Value("orchestrator_watchers") == 1, "the watch stream counted");
        var later = await ScrapeAsync();

        Assert.Multiple(() =>
        {
            Assert.That(fresh.Value("orchestrator_watchers"), Is.Zero);
            Assert.That(later.Value("orchestrator_heartbeat_age_max_seconds") - fresh.Value("orchestrator_heartbeat_age_max_seconds"), Is.EqualTo(7).Within(0.001));
            Assert.That(later.Value("orchestrator_watcher_backlog_max"), Is.GreaterThanOrEqualTo(0));
        });
    }

    [Test]
    public async Task The_grpc_port_does_not_serve_metrics()
    {
        using var client = Host.Server.CreateClient();
        using var response = await client.GetAsync($"http://127.0.0.1:{Host.GrpcPort}/metrics");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }
}
