using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>The open task sessions gauge, by kind: up while a session is open, down once it has ended.</summary>
internal sealed class TaskSessionMetricsTests : TaskSessionTest
{
    private async Task<IReadOnlyList<PrometheusSample>> ScrapeAsync()
    {
        using var client = Host.Server.CreateClient();
        return PrometheusText.Parse(await client.GetStringAsync($"http://127.0.0.1:{Host.MetricsPort}/metrics"));
    }

    [Test]
    public async Task Open_sessions_are_counted_by_kind_until_they_end()
    {
        var (agent, taskId) = await RunningTaskAsync();
        using var logs = Host.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = taskId, Follow = true });
        var (_, logSession) = await agent.AcceptSessionAsync();
        using var exec = Host.Tasks.ExecuteCommand();
        await exec.RequestStream.WriteAsync(new ExecuteCommandRequest { Start = new ExecStart { Task = taskId, Command = { "sh" } } });
        var (_, execSession) = await agent.AcceptSessionAsync();
        var open = await ScrapeAsync();

        await logSession.CompleteAsync();
        await ReadAllAsync(logs.ResponseStream, logs.GetStatus);
        await execSession.ExitedAsync(0);
        await ReadAllAsync(exec.ResponseStream, exec.GetStatus);
        var ended = await ScrapeAsync();
        Assert.Multiple(() =>
        {
            Assert.That(open.Value("orchestrator_task_sessions", ("kind", "logs")), Is.EqualTo(1));
            Assert.That(open.Value("orchestrator_task_sessions", ("kind", "exec")), Is.EqualTo(1));
            Assert.That(ended.Value("orchestrator_task_sessions", ("kind", "logs")), Is.Zero);
            Assert.That(ended.Value("orchestrator_task_sessions", ("kind", "exec")), Is.Zero);
        });
        await logSession.DisposeAsync();
        await execSession.DisposeAsync();
        await agent.DisposeAsync();
    }
}
