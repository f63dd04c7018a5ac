using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Tests.Integration;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Cli;

/// <summary>orchestrator target-group and service create's load balancers, against an in-process scheduler.</summary>
internal sealed class CliTargetGroupTests : SchedulerTest
{
    private Task<CliResult> Cli(params string[] args) => CliRunner.RunAsync(Host, args);

    [Test]
    public async Task A_target_group_is_created_with_its_flags_listed_described_and_deleted()
    {
        var created = await Cli("target-group", "create", "web-tg", "--port", "8080", "--protocol", "HTTP", "--health-path", "/healthz", "--matcher", "200-299",
            "--interval", "10", "--timeout", "3", "--healthy-threshold", "3", "--unhealthy-threshold", "4", "--deregistration-delay", "15");
        await Cli("target-group", "create", "db-tg", "--port", "5432", "--protocol", "TCP");
        var listed = await Cli("target-group", "ls");
        var described = await Cli("target-group", "describe", "web-tg", "nope");
        var table = await Cli("target-group", "describe", "-o", "table");
        var deleted = await Cli("target-group", "delete", "db-tg");
        var after = await Cli("target-group", "ls");
        Assert.Multiple(() =>
        {
            Assert.That(created.ExitCode, Is.EqualTo(0), created.ToString());
            var group = created.Json().GetProperty("targetGroup");
            Assert.That(group.GetProperty("port").GetInt32(), Is.EqualTo(8080));
            Assert.That(group.GetProperty("deregistrationDelaySeconds").GetInt32(), Is.EqualTo(15));
            var check = group.GetProperty("healthCheck");
            Assert.That((check.GetProperty("path").GetString(), check.GetProperty("matcher").GetString(), check.GetProperty("intervalSeconds").GetInt32(),
                check.GetProperty("timeoutSeconds").GetInt32(), check.GetProperty("healthyThreshold").GetInt32(), check.GetProperty("unhealthyThreshold").GetInt32()),
                Is.EqualTo(("/healthz", "200-299", 10, 3, 3, 4)));
            Assert.That(listed.Json().GetProperty("names").EnumerateArray().Select(n => n.GetString()), Is.EqualTo(new[] { "db-tg", "web-tg" }));
            Assert.That(described.ExitCode, Is.EqualTo(1), "a missing name is a failure");
            Assert.That(described.Json().GetProperty("targetGroups")[0].GetProperty("name").GetString(), Is.EqualTo("web-tg"));
            Assert.That(described.ErrorLines, Has.Length.EqualTo(1));
            Assert.That(table.Table().Select(r => (r["name"], r["protocol"], r["port"])), Is.EqualTo(new[] { ("db-tg", "TCP", "5432"), ("web-tg", "HTTP", "8080") }));
            Assert.That(deleted.ExitCode, Is.EqualTo(0), deleted.ToString());
            Assert.That(after.Json().GetProperty("names").EnumerateArray().Select(n => n.GetString()), Is.EqualTo(new[] { "web-tg" }));
        });
    }

    [Test]
    public async Task Target_health_and_service_endpoints_are_asked_by_name()
    {
        await RegisterAsync();
        await Cli("target-group", "create", "web-tg", "--port", "8080");
        await Cli("service", "create", "web", "--taskdef", "web", "--desired-count", "0", "--load-balancer", "web-tg:app:80");
        var health = await Cli("target-group", "health", "web-tg");
        var table = await Cli("target-group", "health", "web-tg", "-o", "table");
        var missing = await Cli("target-group", "health", "nope");
        var endpoints = await Cli("service", "endpoints", "web", "--healthy-only");
        var unknown = await Cli("service", "endpoints", "nope");
        Assert.Multiple(() =>
        {
            Assert.That(health.ExitCode, Is.EqualTo(0), health.ToString());
            Assert.That(health.Json().TryGetProperty("targets", out var targets) ? targets.GetArrayLength() : 0, Is.EqualTo(0), "no task runs");
            Assert.That(table.ExitCode, Is.EqualTo(0), table.ToString());
            Assert.That(table.ToString(), Does.Contain("health.state"), "the table names the nested fields");
            Assert.That(missing.ExitCode, Is.EqualTo(1));
            Assert.That(missing.ToString(), Does.Contain("nope"));
            Assert.That(endpoints.ExitCode, Is.EqualTo(0), endpoints.ToString());
            Assert.That(unknown.ExitCode, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task A_service_is_created_with_load_balancers_and_a_deployment_controller()
    {
        await RegisterAsync();
        await Cli("target-group", "create", "web-tg", "--port", "8080");
        await Cli("target-group", "create", "alt-tg", "--port", "8081");
        var created = await Cli("service", "create", "web", "--taskdef", "web", "--desired-count", "0",
            "--load-balancer", "web-tg:app:80", "--load-balancer", "alt-tg:app:80", "--deployment-controller", "ECS");
        var external = await Cli("service", "create", "canary", "--desired-count", "2", "--deployment-controller", "EXTERNAL", "--load-balancer", "web-tg:app:80");
        Assert.Multiple(() =>
        {
            Assert.That(created.ExitCode, Is.EqualTo(0), created.ToString());
            var service = created.Json().GetProperty("service");
            Assert.That(service.GetProperty("loadBalancers").EnumerateArray().Select(b => (b.GetProperty("targetGroup").GetString(), b.GetProperty("containerName").GetString(), b.GetProperty("containerPort").GetInt32())),
                Is.EqualTo(new[] { ("web-tg", "app", 80), ("alt-tg", "app", 80) }));
            Assert.That(service.GetProperty("deploymentController").GetProperty("type").GetString(), Is.EqualTo("ECS"));
            Assert.That(external.ExitCode, Is.EqualTo(0), external.ToString());
            Assert.That(external.Json().GetProperty("service").GetProperty("deploymentController").GetProperty("type").GetString(), Is.EqualTo("EXTERNAL"));
        });
    }

    private static readonly object[] BadInputs =
    [
        new object[] { new[] { "service", "create", "web", "--taskdef", "web", "--load-balancer", "web-tg:app" }, "orchestrator: --load-balancer: \"web-tg:app\" is not TARGET_GROUP:CONTAINER:PORT (e.g. web-tg:app:80)" },
        new object[] { new[] { "service", "create", "web", "--taskdef", "web", "--load-balancer", "web-tg:app:http" }, "orchestrator: --load-balancer: \"web-tg:app:http\" is not TARGET_GROUP:CONTAINER:PORT" },
        new object[] { new[] { "service", "create", "web", "--taskdef", "web", "--load-balancer", "nope:app:80" }, "orchestrator: InvalidArgument: loadBalancers[0].targetGroup: target group \"nope\" does not exist" },
        new object[] { new[] { "target-group", "create", "web-tg" }, "orchestrator: InvalidArgument: port: must be between 1 and 65535, not 0" },
        new object[] { new[] { "target-group", "create", "web-tg", "--port", "80", "--protocol", "UDP" }, "orchestrator: InvalidArgument: protocol: must be \"HTTP\" or \"TCP\", not \"UDP\"" },
        new object[] { new[] { "target-group", "delete", "nope" }, "orchestrator: NotFound: name: target group \"nope\" does not exist" },
    ];

    [TestCaseSource(nameof(BadInputs))]
    public async Task Bad_input_is_one_error_line_and_exit_1(string[] args, string line)
    {
        await RegisterAsync();
        var result = await Cli(args);
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            Assert.That(result.ErrorLines, Has.Length.EqualTo(1), result.ToString());
            Assert.That(result.ErrorLines[0], Does.StartWith(line));
        });
    }
}
