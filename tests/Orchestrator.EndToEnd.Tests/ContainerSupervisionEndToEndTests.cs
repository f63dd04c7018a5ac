using System.Globalization;
using System.Text.Json;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>
/// What the agent decides about a task's containers after creating them, on the real Docker engine:
/// when each starts (dependsOn), starting one again in place (restartPolicy), and what RunTask's
/// overrides make of them.
/// </summary>
internal sealed class ContainerSupervisionEndToEndTests
{
    private static async Task<string> RegisterAsync(Cluster cluster, string family, params ContainerDefinition[] containers)
    {
        var request = new RegisterTaskDefinitionRequest { Family = family };
        request.ContainerDefinitions.Add(containers);
        return (await cluster.TaskDefinitions.RegisterTaskDefinitionAsync(request)).TaskDefinition.TaskDefinitionArn;
    }

    [Test]
    public async Task DependsOn_HEALTHY_holds_the_second_container_until_the_first_is_healthy()
    {
        await using var cluster = await Cluster.StartAsync();
        // db's first check (5 s after its start) fails, the next one passes: healthy at about 10 s.
        var db = new ContainerDefinition
        {
            Name = "db",
            Image = Docker.TestImage,
            Command = { "sh", "-c", "sleep 7; touch /tmp/ready; exec sleep 3600" },
            Memory = 16,
            StopTimeoutSeconds = 2,
            HealthCheck = new HealthCheck { Command = { "CMD-SHELL", "test -f /tmp/ready" }, IntervalSeconds = 5, TimeoutSeconds = 2, Retries = 3 },
        };
        var web = new ContainerDefinition
        {
            Name = "web",
            Image = Docker.TestImage,
            Command = { "sleep", "3600" },
            Memory = 16,
            StopTimeoutSeconds = 2,
            DependsOn = { new ContainerDependency { ContainerName = "db", Condition = "HEALTHY" } },
        };
        await RegisterAsync(cluster, "ordered", web, db);
        var placed = await cluster.RunAsync("ordered");

        // While db is not healthy yet, web is created and not started, and the task is PENDING.
        Contracts.V1.Task? pending = null;
        await Cluster.EventuallyAsync(async () => (pending = await cluster.DescribeAsync(placed.TaskId)).Containers.All(c => c.RuntimeId.Length > 0),
            "both containers are created");
        var dbId = pending!.Containers.Single(c => c.Name == "db").RuntimeId;
        var webId = pending.Containers.Single(c => c.Name == "web").RuntimeId;
        var heldWhileStarting = Docker.Inspect(dbId, "{{.State.Health.Status}}") == "starting"
            ? (Web: Docker.Inspect(webId, "{{.State.Status}}"), Task: (await cluster.DescribeAsync(placed.TaskId)).LastStatus)
            : default;

        var running = await cluster.WaitForAsync(placed.TaskId, TaskStatus.Running);
        var health = JsonDocument.Parse(Docker.Inspect(dbId, "{{json .State.Health}}")).RootElement;
        var checks = health.GetProperty("Log").EnumerateArray()
            .Select(c => (End: DockerTime(c.GetProperty("End").GetString()!), Passed: c.GetProperty("ExitCode").GetInt32() == 0))
            .ToList();
        var firstPass = checks.First(c => c.Passed).End;
        var webStarted = DockerTime(Docker.Inspect(webId, "{{.State.StartedAt}}"));
        var dbStarted = DockerTime(Docker.Inspect(dbId, "{{.State.StartedAt}}"));

        Assert.Multiple(() =>
        {
            Assert.That(checks[0].Passed, Is.False, "the log still holds the failing check before the first pass (only the last 5 are kept)");
            Assert.That(webStarted, Is.GreaterThan(firstPass), "web started after db's first passing health check");
            Assert.That(webStarted - dbStarted, Is.GreaterThan(TimeSpan.FromSeconds(7)), "db is not healthy before /tmp/ready exists");
            if (heldWhileStarting != default)
            {
                Assert.That(heldWhileStarting, Is.EqualTo(("created", TaskStatus.Pending)), "web held, the task PENDING, while db's health was starting");
            }

            Assert.That(running.Containers.Select(c => (c.Name, c.LastStatus)), Is.EquivalentTo(new[] { ("web", TaskStatus.Running), ("db", TaskStatus.Running) }));
            Assert.That(running.Containers.Single(c => c.Name == "db").HealthStatus, Is.EqualTo(HealthStatus.Healthy));
        });
    }

    /// <remarks>
    /// 60 s is the shortest restartAttemptPeriod there is, and a container that ran less is not
    /// restarted: the worker runs 61 s (the whole test takes a little over a minute).
    /// </remarks>
    [Test]
    public async Task A_non_essential_container_with_a_restart_policy_is_restarted_in_place_and_the_task_runs_on()
    {
        await using var cluster = await Cluster.StartAsync();
        var app = new ContainerDefinition { Name = "app", Image = Docker.TestImage, Command = { "sleep", "3600" }, Memory = 16, StopTimeoutSeconds = 2 };
        var worker = new ContainerDefinition
        {
            Name = "worker",
            Image = Docker.TestImage,
            Command = { "sh", "-c", "sleep 61; exit 3" },
            Memory = 16,
            StopTimeoutSeconds = 2,
            Essential = false,
            RestartPolicy = new RestartPolicy { Enabled = true, RestartAttemptPeriodSeconds = 60 },
        };
        await RegisterAsync(cluster, "restarts", app, worker);
        var placed = await cluster.RunAsync("restarts");
        var first = await cluster.WaitForAsync(placed.TaskId, TaskStatus.Running);
        var workerId = first.Containers.Single(c => c.Name == "worker").RuntimeId;
        var firstStart = Docker.Inspect(workerId, "{{.State.StartedAt}}");

        Contracts.V1.Task? restarted = null;
        await Cluster.EventuallyAsync(async () => (restarted = await cluster.DescribeAsync(placed.TaskId)).Containers.Single(c => c.Name == "worker").RestartCount >= 1,
            "the worker's restart is reported", () => string.Join("\n", cluster.Agent!.StandardOutput.TakeLast(10)), seconds: 100);
        var container = restarted!.Containers.Single(c => c.Name == "worker");

        Assert.Multiple(() =>
        {
            Assert.That(container.RuntimeId, Is.EqualTo(workerId), "the same container");
            Assert.That((container.RestartCount, container.LastStatus), Is.EqualTo((1, TaskStatus.Running)));
            Assert.That(restarted.LastStatus, Is.EqualTo(TaskStatus.Running), "the task was not replaced");
            Assert.That(Docker.Inspect(workerId, "{{.State.Running}} {{.RestartCount}}"), Is.EqualTo("true 0"),
                "running again, started by the agent, not by a Docker restart policy");
            Assert.That(Docker.Inspect(workerId, "{{.State.StartedAt}}"), Is.Not.EqualTo(firstStart));
            Assert.That(Docker.ContainersOf(cluster.Node), Has.Length.EqualTo(2), "no container created for it");
        });
    }

    /// <remarks>Needs the scheduler to pass RunTaskRequest.overrides on in its start command.</remarks>
    [Test]
    public async Task RunTask_overrides_change_the_command_and_environment_of_the_container()
    {
        await using var cluster = await Cluster.StartAsync();
        await RegisterAsync(cluster, "say", new ContainerDefinition
        {
            Name = "main",
            Image = Docker.TestImage,
            Command = { "sh", "-c", "echo defined > /tmp/said; exec sleep 3600" },
            Environment = { new EnvironmentVariable { Name = "GREETING", Value = "hello" }, new EnvironmentVariable { Name = "KEPT", Value = "yes" } },
            Memory = 16,
            StopTimeoutSeconds = 2,
        });
        var run = await cluster.Tasks.RunTaskAsync(new RunTaskRequest
        {
            TaskDefinition = "say",
            Overrides = new TaskOverride
            {
                ContainerOverrides =
                {
                    new ContainerOverride
                    {
                        Name = "main",
                        Command = { "sh", "-c", "echo \"overridden $GREETING\" > /tmp/said; exec sleep 3600" },
                        Environment = { new EnvironmentVariable { Name = "GREETING", Value = "bonjour" } },
                        Memory = 32,
                    },
                },
            },
        });
        Assert.That(run.Failures, Is.Empty, string.Join("; ", run.Failures.Select(f => f.Detail)));
        var running = await cluster.WaitForAsync(run.Tasks.Single().TaskId, TaskStatus.Running);
        var id = running.Containers.Single().RuntimeId;

        string said = "";
        await Cluster.EventuallyAsync(() => Task.FromResult((said = Docker.Run("exec", id, "cat", "/tmp/said").Output.Trim()).Length > 0), "the container has written /tmp/said");
        var environment = JsonSerializer.Deserialize<string[]>(Docker.Inspect(id, "{{json .Config.Env}}"))!;
        Assert.Multiple(() =>
        {
            Assert.That(said, Is.EqualTo("overridden bonjour"));
            Assert.That(environment, Does.Contain("GREETING=bonjour").And.Contain("KEPT=yes").And.Not.Contain("GREETING=hello"));
            Assert.That(Docker.Inspect(id, "{{.HostConfig.Memory}}"), Is.EqualTo((32L * 1024 * 1024).ToString(CultureInfo.InvariantCulture)));
        });
    }

    /// <summary>Docker's RFC 3339 times carry nanoseconds; .NET reads at most seven digits of a fraction.</summary>
    private static DateTimeOffset DockerTime(string value)
    {
        var dot = value.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0)
        {
            var end = dot + 1;
            while (end < value.Length && char.IsAsciiDigit(value[end]))
            {
                end++;
            }

            value = value[..Math.Min(end, dot + 8)] + value[end..];
        }

        return DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
    }
}
