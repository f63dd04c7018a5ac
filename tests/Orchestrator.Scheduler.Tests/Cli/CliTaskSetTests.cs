using Orchestrator.Scheduler.Tests.Integration;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Cli;

/// <summary>orchestrator task-set … and service update-primary-task-set against an in-process scheduler.</summary>
internal sealed class CliTaskSetTests : SchedulerTest
{
    private Task<CliResult> Cli(params string[] args) => CliRunner.RunAsync(Host, args);

    private async Task CreateExternalServiceAsync()
    {
        await RegisterAsync();
        await RegisterAsync(WebDefinition(memory: 256));
        var created = await Cli("service", "create", "web", "--desired-count", "10", "--deployment-controller", "EXTERNAL");
        Assert.That(created.Json().GetProperty("service").GetProperty("deploymentController").GetProperty("type").GetString(), Is.EqualTo("EXTERNAL"), created.ToString());
    }

    [Test]
    public async Task Task_sets_are_created_scaled_promoted_listed_and_deleted()
    {
        await CreateExternalServiceAsync();

        var blue = await Cli("task-set", "create", "web", "--taskdef", "web:1");
        var green = await Cli("task-set", "create", "web", "--taskdef", "web:2", "--scale", "10", "--external-id", "green");
        var greenId = green.Json().GetProperty("taskSet").GetProperty("id").GetString()!;
        var blueId = blue.Json().GetProperty("taskSet").GetProperty("id").GetString()!;
        var raised = await Cli("task-set", "update", "web", greenId, "--scale", "100");
        var promoted = await Cli("service", "update-primary-task-set", "web", greenId);
        var deleted = await Cli("task-set", "delete", "web", blueId);
        var listed = await Cli("task-set", "ls", "web", "-o", "table");

        Assert.Multiple(() =>
        {
            Assert.That(blue.ExitCode, Is.EqualTo(0), blue.ToString());
            Assert.That(blue.Json().GetProperty("taskSet").GetProperty("status").GetString(), Is.EqualTo("PRIMARY"));
            Assert.That(green.Json().GetProperty("taskSet").GetProperty("computedDesiredCount").GetInt32(), Is.EqualTo(1));
            Assert.That(raised.Json().GetProperty("taskSet").GetProperty("scale").GetProperty("value").GetDouble(), Is.EqualTo(100));
            Assert.That(promoted.Json().GetProperty("taskSet").GetProperty("status").GetString(), Is.EqualTo("PRIMARY"));
            Assert.That(deleted.Json().GetProperty("taskSet").GetProperty("id").GetString(), Is.EqualTo(blueId));
            Assert.That(listed.Table().Select(r => (r["id"], r["status"], r["externalId"])), Is.EqualTo(new[] { (greenId, "PRIMARY", "green") }),
                "blue had no task running (no agent): deleted, it is gone at once");
        });
    }

    [TestCase(new[] { "task-set", "create", "web", "--taskdef", "web:1", "--scale", "101" }, "orchestrator: InvalidArgument: scale.value: ")]
    [TestCase(new[] { "task-set", "update", "web", "ecs-svc/nope", "--scale", "5" }, "orchestrator: NotFound: taskSet: ")]
    [TestCase(new[] { "task-set", "ls", "web", "ecs-svc/nope" }, "orchestrator: MISSING: ecs-svc/nope")]
    public async Task Bad_input_is_one_error_line_and_exit_1(string[] args, string line)
    {
        await CreateExternalServiceAsync();

        var result = await Cli(args);

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            Assert.That(result.ErrorLines, Has.Length.EqualTo(1), result.ToString());
            Assert.That(result.ErrorLines[0], Does.StartWith(line));
        });
    }
}
