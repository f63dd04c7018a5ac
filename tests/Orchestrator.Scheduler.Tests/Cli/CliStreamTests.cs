using System.Text;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Tests.Integration;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Cli;

/// <summary>The CLI's streams (watch, events --follow) against a real scheduler: lines as things happen, until interrupted.</summary>
internal sealed class CliStreamTests : SchedulerTest
{
    /// <summary>Starts a streaming command, waits (bounded) until its output has <paramref name="wanted"/>, then interrupts it.</summary>
    private async Task<CliResult> UntilAsync(string[] args, Func<Task> meanwhile, params string[] wanted)
    {
        var output = new StringBuilder();
        var writer = TextWriter.Synchronized(new StringWriter(output));
        using var interrupt = new CancellationTokenSource();
        var running = CliRunner.RunAsync(() => Host.Server.CreateHandler(), Host.AdminToken, args, cancel: interrupt.Token,
            adjust: context => context with { Out = writer });
        await meanwhile();
        await EventuallyAsync(() => Task.FromResult(wanted.All(w => { lock (writer) { return output.ToString().Contains(w, StringComparison.Ordinal); } }) || running.IsCompleted),
            "the stream printed " + string.Join(", ", wanted));
        await interrupt.CancelAsync();
        var result = await running;
        return result with { Out = output.ToString() };
    }

    [Test]
    public async Task Watch_prints_task_changes_and_cluster_events_until_interrupted()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "node-1");
        agent.RunAutomatically();
        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
        var id = run.Tasks.Single().TaskId;

        await Host.Nodes.UpdateNodeStatusAsync(new UpdateNodeStatusRequest { Name = "node-1", Status = NodeStatus.Draining });

        // Both happened before the watch: --existing and --since bring them, so nothing races the watch's start.
        var result = await UntilAsync(["watch", "--existing", "--since", "2026-11-29T00:00:00Z", "-o", "table"],
            () => Task.CompletedTask,
            $"task     {id}", "event    NODE_DRAINING");

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(130), result.ToString());
            Assert.That(result.Error, Is.Empty);
        });
    }

    [Test]
    public async Task Events_follow_prints_json_lines_from_the_start_then_live_ones()
    {
        await using var first = await SimulatedAgent.ConnectAsync(Host.Agents, "node-1");
        SimulatedAgent? second = null;

        var result = await UntilAsync(["events", "--follow", "--since", "2026-11-29T00:00:00Z", "-o", "json"],
            async () => second = await SimulatedAgent.ConnectAsync(Host.Agents, "node-2"),
            "\"node-1\"", "\"node-2\"");
        await second!.DisposeAsync();

        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(130), result.ToString());
            Assert.That(lines.Select(l => l.GetProperty("type").GetString()), Does.Contain("EVENT_TYPE_NODE_JOINED"));
            Assert.That(lines.Select(l => l.GetProperty("sequence").GetString()), Is.Ordered.Using<string>((a, b) => long.Parse(a!).CompareTo(long.Parse(b!))));
        });
    }
}
