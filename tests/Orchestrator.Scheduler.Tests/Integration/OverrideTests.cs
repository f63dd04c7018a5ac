using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>RunTask's overrides: placed with their sizes, kept with the task, sent to its agent, refused when they do not fit.</summary>
internal sealed class OverrideTests : SchedulerTest
{
    private static TaskOverride AppMemory(int memory) => new() { ContainerOverrides = { new ContainerOverride { Name = "app", Memory = memory } } };

    [Test]
    public async Task Placement_reserves_the_overridden_memory()
    {
        await RegisterAsync(); // app: 256 cpu, 512 MiB
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", memory: 400);

        var plain = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
        var smaller = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Overrides = AppMemory(256) });
        var node = await NodeAsync("n1");
        var bigger = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Overrides = AppMemory(1024) });
        Assert.Multiple(() =>
        {
            Assert.That(plain.Failures.Single().Detail, Is.EqualTo("1 node: insufficient memory (needs 512 MiB, best has 400)"), "the definition's 512 MiB do not fit");
            Assert.That(smaller.Tasks.Single().Memory, Is.EqualTo(256), "the override's 256 MiB do");
            Assert.That(node.Remaining.Memory, Is.EqualTo(400 - 256), "the node reserved the overridden size");
            Assert.That(bigger.Failures.Single().Detail, Is.EqualTo("1 node: insufficient memory (needs 1024 MiB, best has 144)"));
        });
    }

    [Test]
    public async Task The_task_keeps_its_overrides_shows_them_and_its_agent_gets_them()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var overrides = new TaskOverride
        {
            Memory = 1024,
            ContainerOverrides =
            {
                new ContainerOverride
                {
                    Name = "app",
                    Command = { "echo", "hello" },
                    Environment = { new EnvironmentVariable { Name = "MODE", Value = "batch" } },
                    Cpu = 128,
                    MemoryReservation = 300,
                },
            },
        };

        var task = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Overrides = overrides })).Tasks.Single();
        var start = (await agent.NextCommandAsync()).StartTask;
        var described = await DescribeAsync(task.TaskId);
        Assert.Multiple(() =>
        {
            Assert.That((task.Cpu, task.Memory), Is.EqualTo((128, 1024)), "the container's cpu, the task's memory");
            Assert.That(task.Overrides, Is.EqualTo(overrides));
            Assert.That(described.Overrides, Is.EqualTo(overrides));
            Assert.That(start.Overrides, Is.EqualTo(overrides), "the agent applies them");
            Assert.That(start.TaskDefinition.ContainerDefinitions[0].Command, Is.EqualTo(new[] { "httpd", "-f", "-p", "80" }), "the definition itself is sent unchanged");
        });

        // Stored with the task: a restarted scheduler shows them, and sends them again to the agent.
        RestartScheduler();
        await using var back = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var restarted = await DescribeAsync(task.TaskId);
        Assert.Multiple(() =>
        {
            Assert.That(restarted.Overrides, Is.EqualTo(overrides));
            Assert.That(back.Registered.StartTasks.Single().Overrides, Is.EqualTo(overrides));
        });
    }

    [Test]
    public async Task A_task_without_overrides_has_none()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var task = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Overrides = new TaskOverride() })).Tasks.Single();
        var start = (await agent.NextCommandAsync()).StartTask;
        Assert.Multiple(() =>
        {
            Assert.That(task.Overrides, Is.Null);
            Assert.That(start.Overrides, Is.Null);
        });
    }

    [Test]
    public async Task Overrides_that_do_not_fit_the_definition_are_refused_with_the_field()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var missing = Refused(() => Host.Tasks.RunTaskAsync(new RunTaskRequest
        {
            TaskDefinition = "web",
            Overrides = new TaskOverride { ContainerOverrides = { new ContainerOverride { Name = "app" }, new ContainerOverride { Name = "x", Command = { "true" } } } },
        }).ResponseAsync);
        var reservation = Refused(() => Host.Tasks.RunTaskAsync(new RunTaskRequest
        {
            TaskDefinition = "web",
            Overrides = new TaskOverride { ContainerOverrides = { new ContainerOverride { Name = "app", MemoryReservation = 1024 } } },
        }).ResponseAsync);
        var syntax = Refused(() => Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Overrides = AppMemory(2) }).ResponseAsync);
        var tasks = await Host.Tasks.ListTasksAsync(new ListTasksRequest());
        Assert.Multiple(() =>
        {
            Assert.That((missing.StatusCode, missing.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "overrides.containerOverrides[1].name: no container named \"x\" in web:1")));
            Assert.That((reservation.StatusCode, reservation.Status.Detail),
                Is.EqualTo((StatusCode.InvalidArgument, "overrides.containerOverrides[0].memoryReservation: 1024 MiB is more than the hard limit, memory = 512 MiB")));
            Assert.That((syntax.StatusCode, syntax.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "overrides.containerOverrides[0].memory: must be at least 6 MiB")));
            Assert.That(tasks.TaskIds, Is.Empty, "nothing was started");
        });
    }
}
