using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Agent.Hosting;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Tasks;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Agent.Tests;

/// <summary>The Docker event pump through an engine restart: it outlives every failure and misses no death.</summary>
internal sealed class RuntimeEventPumpTests
{
    [Test]
    public async Task It_outlives_any_failure_of_the_engine_and_reports_a_death_that_happened_in_the_gap()
    {
        var runtime = new FakeRuntime();
        var reports = new RecordingSink();
        var identity = new AgentIdentity("default", "node-1", "127.0.0.1");
        var supervisor = new TaskSupervisor(runtime, reports, identity, new FakeTimeProvider(), NullLogger<TaskSupervisor>.Instance);
        await supervisor.StartAsync(TaskSupervisorTests.Command(), CancellationToken.None);
        var app = runtime.Containers.Single(c => c.Spec.Labels[ContainerLabels.Container] == "app");

        // The engine goes away: the stream ends with whatever it ends with (not only the exceptions
        // Docker.DotNet documents), the engine refuses for a while, and the container died meanwhile
        // with no event to say so.
        runtime.EventStreamFailures.Enqueue(new HttpRequestException("Unexpected end of stream"));
        runtime.EventStreamFailures.Enqueue(new InvalidOperationException("500 Internal Server Error: shutting down"));
        runtime.InfoFailures = 2;
        runtime.Die(app.Id, 143);

        var startup = new AgentStartup();
        startup.SignalDockerReady();
        using var pump = new RuntimeEventPump(runtime, supervisor, identity, startup, TimeProvider.System, NullLogger<RuntimeEventPump>.Instance);
        await pump.StartAsync(CancellationToken.None);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((reports.Last.LastStatus != TaskStatus.Stopped || runtime.EventSubscriptions < 3) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var running = pump.ExecuteTask is { IsCompleted: false };
        await pump.StopAsync(CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(reports.Last.LastStatus, Is.EqualTo(TaskStatus.Stopped), "the death in the gap is reported");
            Assert.That(reports.Last.Containers.Single(c => c.Name == "app").ExitCode, Is.EqualTo(143));
            Assert.That(running, Is.True, "the pump was still running");
            Assert.That(runtime.EventSubscriptions, Is.EqualTo(3), "subscribed again after each failure");
        });
    }
}
