using Orchestrator.Agent.Tasks;
using Orchestrator.Contracts.V1;
using static Orchestrator.Agent.Tests.SupervisorHarness;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Tests;

/// <summary>RunTask's container overrides, as the agent applies them to what it creates.</summary>
internal sealed class TaskOverridesTests
{
    private static ContainerDefinition App() => new()
    {
        Name = "app",
        Image = "busybox",
        Command = { "sleep", "3600" },
        Environment = { new EnvironmentVariable { Name = "A", Value = "1" }, new EnvironmentVariable { Name = "B", Value = "2" } },
        Cpu = 256,
        Memory = 128,
        MemoryReservation = 64,
    };

    [Test]
    public async Task The_agent_creates_the_overridden_container_command_environment_and_sizes()
    {
        var h = new SupervisorHarness();
        var command = Command(App(), Container("sidecar", essential: false));
        command.Overrides = new TaskOverride
        {
            ContainerOverrides =
            {
                new ContainerOverride
                {
                    Name = "app",
                    Command = { "echo", "once" },
                    Environment = { new EnvironmentVariable { Name = "B", Value = "two" }, new EnvironmentVariable { Name = "C", Value = "3" } },
                    Memory = 256,
                },
            },
        };
        await h.StartAsync(command);

        var app = h.Named("app").Spec;
        var sidecar = h.Named("sidecar").Spec;
        Assert.Multiple(() =>
        {
            Assert.That(app.Command, Is.EqualTo(new[] { "echo", "once" }));
            Assert.That(app.Environment, Is.EqualTo(new[] { "A=1", "B=two", "C=3" }));
            Assert.That((app.CpuShares, app.MemoryBytes, app.MemoryReservationBytes), Is.EqualTo((256, 256L << 20, 64L << 20)), "only memory was overridden");
            Assert.That(sidecar.Command, Is.EqualTo(new[] { "sleep", "3600" }), "a container without overrides is as defined");
            Assert.That(command.TaskDefinition.ContainerDefinitions[0].Command, Is.EqualTo(new[] { "sleep", "3600" }), "the command's definition is left as it came");
        });
    }

    public static IEnumerable<TestCaseData> Overrides()
    {
        yield return new TestCaseData(new ContainerOverride { Name = "app" }, new[] { "sleep", "3600" }, new[] { "A=1", "B=2" }, (256, 128, 64))
            .SetName("Nothing given: nothing changes");
        yield return new TestCaseData(new ContainerOverride { Name = "app", Command = { "true" } }, new[] { "true" }, new[] { "A=1", "B=2" }, (256, 128, 64))
            .SetName("A command replaces the definition's");
        yield return new TestCaseData(new ContainerOverride { Name = "app", Environment = { new EnvironmentVariable { Name = "A", Value = "x" } } }, new[] { "sleep", "3600" }, new[] { "A=x", "B=2" }, (256, 128, 64))
            .SetName("A variable of the same name is replaced in place");
        yield return new TestCaseData(new ContainerOverride { Name = "app", Cpu = 0, Memory = 512, MemoryReservation = 0 }, new[] { "sleep", "3600" }, new[] { "A=1", "B=2" }, (0, 512, 0))
            .SetName("Sizes given replace, zero included");
    }

    [TestCaseSource(nameof(Overrides))]
    public void Overrides_apply_as_ECS_applies_them(ContainerOverride given, string[] command, string[] environment, (int Cpu, int Memory, int Reservation) sizes)
    {
        var result = TaskOverrides.Apply(App(), given);
        Assert.Multiple(() =>
        {
            Assert.That(result.Command, Is.EqualTo(command));
            Assert.That(result.Environment.Select(e => $"{e.Name}={e.Value}"), Is.EqualTo(environment));
            Assert.That((result.Cpu, result.Memory, result.MemoryReservation), Is.EqualTo(sizes));
        });
    }

    [Test]
    public void No_overrides_leave_the_definitions_as_they_are()
    {
        var definitions = new[] { App() };
        Assert.That(TaskOverrides.Apply(definitions, null), Is.SameAs(definitions));
    }
}
