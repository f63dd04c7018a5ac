using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Tests.Integration;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Cli;

/// <summary>service create/update --wait and service deploy against a real scheduler: exits 0, 2 and 1 as nomad job run does.</summary>
internal sealed class CliRolloutTests : SchedulerTest
{
    /// <summary>
    /// Runs the CLI while reconcile passes run, one per fake second, each settled by the agents (as
    /// ServiceTests does), until the CLI has exited: bounded in passes, not in time.
    /// </summary>
    private async Task<CliResult> WhilePassesAsync(Task<CliResult> cli, params SimulatedAgent[] agents)
    {
        for (var pass = 0; pass < 200 && !cli.IsCompleted; pass++)
        {
            Host.Clock.Advance(TimeSpan.FromSeconds(1));
            foreach (var agent in agents)
            {
                await agent.SettleAsync();
            }

            await Task.WhenAny(cli, Task.Delay(20));
        }

        Assert.That(cli.IsCompleted, "the CLI exited within 200 passes");
        return await cli;
    }

    [Test]
    public async Task Create_with_wait_exits_0_when_the_deployment_completes()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "node-1");
        agent.RunAutomatically();

        var result = await WhilePassesAsync(CliRunner.RunAsync(Host, "service", "create", "web", "--taskdef", "web", "--desired-count", "2", "--wait", "-o", "table"), agent);

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
            Assert.That(result.Out, Does.Contain("2/2 running"));
            Assert.That(result.Out, Does.Contain("completed"));
        });
    }

    [Test]
    public async Task Deploy_follows_a_new_revision_to_completion()
    {
        await RegisterAsync();
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "node-1");
        agent.RunAutomatically();
        var created = await WhilePassesAsync(CliRunner.RunAsync(Host, "service", "create", "web", "--taskdef", "web:1", "--desired-count", "1", "--wait"), agent);

        var deployed = await WhilePassesAsync(CliRunner.RunAsync(Host, "service", "deploy", "web", "--taskdef", "web:2", "-o", "table"), agent);
        var described = await CliRunner.RunAsync(Host, "service", "describe", "web", "-o", "json");

        Assert.Multiple(() =>
        {
            Assert.That(created.ExitCode, Is.EqualTo(0), created.ToString());
            Assert.That(deployed.ExitCode, Is.EqualTo(0), deployed.ToString());
            Assert.That(deployed.Out, Does.Contain("of web:2"));
            Assert.That(described.Json().GetProperty("services")[0].GetProperty("taskDefinition").GetString(), Is.EqualTo("web:2"));
        });
    }

    [Test]
    public async Task Wait_exits_2_with_the_reasons_when_nothing_can_place()
    {
        await RegisterAsync();

        var result = await WhilePassesAsync(CliRunner.RunAsync(Host, "service", "create", "web", "--taskdef", "web", "--desired-count", "2", "--wait", "-o", "table"));

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
            Assert.That(result.ErrorLines[0], Does.StartWith("orchestrator: service web: deployment "));
            Assert.That(result.Error, Does.Contain("NO_ACTIVE_NODES"));
        });
    }

    [Test]
    public async Task Wait_exits_1_with_the_reason_when_the_circuit_breaker_fails_the_deployment()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "node-1");
        agent.RunAutomatically(failToStart: _ => true);

        var result = await WhilePassesAsync(
            CliRunner.RunAsync(Host, "service", "create", "web", "--taskdef", "web", "--desired-count", "2", "--circuit-breaker", "--wait", "-o", "table"), agent);

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            Assert.That(result.Error, Does.Contain("failed: "));
        });
    }
}
