using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Tests.Validation;

internal sealed class TaskDefinitionValidatorTests
{
    internal static RegisterTaskDefinitionRequest Valid() => new()
    {
        Family = "web",
        ContainerDefinitions =
        {
            new ContainerDefinition
            {
                Name = "app",
                Image = "busybox:latest",
                Cpu = 256,
                Memory = 512,
                MemoryReservation = 256,
                PortMappings = { new PortMapping { ContainerPort = 80 }, new PortMapping { ContainerPort = 53, HostPort = 5353, Protocol = TransportProtocol.Udp } },
            },
            new ContainerDefinition { Name = "sidecar", Image = "busybox", Memory = 64, Essential = false },
        },
    };

    private static IEnumerable<TestCaseData> BadDefinitions()
    {
        TestCaseData Case(string name, Action<RegisterTaskDefinitionRequest> spoil, string message)
        {
            var request = Valid();
            spoil(request);
            return new TestCaseData(request).Returns(message).SetName(name);
        }

        yield return Case("no family", r => r.Family = "", "family: family name is required");
        yield return Case("bad family", r => r.Family = "web app", "family: \"web app\" is not a valid family name: use 1 to 255 letters, digits, hyphens and underscores");
        yield return Case("no containers", r => r.ContainerDefinitions.Clear(), "containerDefinitions: at least one container definition is required");
        yield return Case("memory too small", r => r.ContainerDefinitions[1].Memory = 4, "containerDefinitions[1].memory: must be at least 6 MiB");
        yield return Case("negative memory", r => r.ContainerDefinitions[1].Memory = -1, "containerDefinitions[1].memory: must be at least 6 MiB");
        yield return Case("no memory at all", r => { r.ContainerDefinitions[1].Memory = 0; }, "containerDefinitions[1].memory: memory or memoryReservation is required when the task sets no memory");
        yield return Case("reservation above limit", r => r.ContainerDefinitions[0].MemoryReservation = 1024, "containerDefinitions[0].memoryReservation: 1024 MiB is more than the hard limit, memory = 512 MiB");
        yield return Case("duplicate container name", r => r.ContainerDefinitions[1].Name = "app", "containerDefinitions[1].name: \"app\" is used by another container of this task definition");
        yield return Case("no essential container", r => r.ContainerDefinitions[0].Essential = false, "containerDefinitions: at least one container must be essential");
        yield return Case("no image", r => r.ContainerDefinitions[0].Image = "", "containerDefinitions[0].image: image is required");
        yield return Case("container port 0", r => r.ContainerDefinitions[0].PortMappings[0].ContainerPort = 0, "containerDefinitions[0].portMappings[0].containerPort: must be at least 1, not 0");
        yield return Case("host port too big", r => r.ContainerDefinitions[0].PortMappings[0].HostPort = 70000, "containerDefinitions[0].portMappings[0].hostPort: must be at most 65535, not 70000");
        yield return Case("unknown protocol", r => r.ContainerDefinitions[0].PortMappings[0].Protocol = (TransportProtocol)9, "containerDefinitions[0].portMappings[0].protocol: unknown protocol 9; use TRANSPORT_PROTOCOL_TCP or TRANSPORT_PROTOCOL_UDP");
        yield return Case("host port twice in a task", r => r.ContainerDefinitions[1].PortMappings.Add(new PortMapping { ContainerPort = 9, HostPort = 5353, Protocol = TransportProtocol.Udp }),
            "containerDefinitions[1].portMappings[0].hostPort: host port 5353/udp is already used by containerDefinitions[0].portMappings[1]");
        yield return Case("negative cpu", r => r.ContainerDefinitions[0].Cpu = -5, "containerDefinitions[0].cpu: must be at least 0 CPU units, not -5");
        yield return Case("task cpu below containers", r => r.Cpu = 128, "cpu: the containers reserve 256 CPU units, more than the task's 128");
        yield return Case("container limit above task memory", r => r.Memory = 100, "containerDefinitions[0].memory: 512 MiB is more than the task's memory, 100 MiB");
        yield return Case("task memory below containers", r => { r.Memory = 300; r.ContainerDefinitions[0].Memory = 0; }, "memory: the containers reserve 320 MiB, more than the task's 300");
        yield return Case("stop timeout too long", r => r.ContainerDefinitions[0].StopTimeoutSeconds = 121, "containerDefinitions[0].stopTimeoutSeconds: must be at most 120 seconds, not 121");
        yield return Case("health check without command", r => r.ContainerDefinitions[0].HealthCheck = new HealthCheck { IntervalSeconds = 10 }, "containerDefinitions[0].healthCheck.command: is required: [\"CMD\", exe, args...] or [\"CMD-SHELL\", \"line\"]");
        yield return Case("health check interval", r => r.ContainerDefinitions[0].HealthCheck = new HealthCheck { Command = { "CMD-SHELL", "true" }, IntervalSeconds = 1 }, "containerDefinitions[0].healthCheck.intervalSeconds: must be at least 5, not 1");
        yield return Case("reserved label", r => r.ContainerDefinitions[0].DockerLabels["orchestrator.task"] = "x", "containerDefinitions[0].dockerLabels[orchestrator.task]: keys starting with \"orchestrator.\" are reserved for the agent's own labels");
        yield return Case("environment without name", r => r.ContainerDefinitions[0].Environment.Add(new EnvironmentVariable { Value = "x" }), "containerDefinitions[0].environment[0].name: must be a non-empty name without '=' or control characters");
        yield return Case("stopAfter below three heartbeats", r => r.Disconnect = new Disconnect { StopAfterSeconds = 14 }, "disconnect.stopAfterSeconds: must be 0 (off) or at least 15 seconds (three heartbeat intervals of 5 s), not 14");
        yield return Case("negative stopAfter", r => r.Disconnect = new Disconnect { StopAfterSeconds = -1 }, "disconnect.stopAfterSeconds: must be 0 (off) or at least 15 seconds (three heartbeat intervals of 5 s), not -1");
        yield return Case("stopAfter over a day", r => r.Disconnect = new Disconnect { StopAfterSeconds = 86_401 }, "disconnect.stopAfterSeconds: must be at most 86400 seconds, not 86401");
        yield return Case("too many containers", r => { for (var i = 0; i < 10; i++) r.ContainerDefinitions.Add(new ContainerDefinition { Name = $"c{i}", Image = "x", Memory = 6 }); }, "containerDefinitions: at most 10 allowed, got 12");
    }

    [TestCase(0, 5, false, TestName = "stopAfter 0 is off and not kept")]
    [TestCase(15, 5, true, TestName = "stopAfter of three heartbeats is accepted")]
    [TestCase(86_400, 5, true, TestName = "stopAfter of a day is accepted")]
    [TestCase(6, 2, true, TestName = "stopAfter follows a shorter heartbeat interval")]
    public void A_stop_after_within_bounds_is_kept_in_the_definition(int stopAfter, int heartbeatSeconds, bool kept)
    {
        var request = Valid();
        request.Disconnect = new Disconnect { StopAfterSeconds = stopAfter };
        var (spec, _) = TaskDefinitionValidator.Validate(request, TimeSpan.FromSeconds(heartbeatSeconds));
        Assert.That(spec.Disconnect?.StopAfterSeconds, Is.EqualTo(kept ? stopAfter : null));
    }

    [TestCaseSource(nameof(BadDefinitions))]
    public string Bad_definition_is_refused_naming_the_field(RegisterTaskDefinitionRequest request)
    {
        var error = Assert.Throws<RequestException>(() => TaskDefinitionValidator.Validate(request))!;
        Assert.That(error.Kind, Is.EqualTo(RequestErrorKind.InvalidArgument));
        return error.Message;
    }

    [Test]
    public void Demand_reserves_soft_limits_and_lists_every_port()
    {
        var (spec, demand) = TaskDefinitionValidator.Validate(Valid());
        Assert.Multiple(() =>
        {
            Assert.That(spec.Family, Is.EqualTo("web"));
            Assert.That(demand.Cpu, Is.EqualTo(256));
            Assert.That(demand.Memory, Is.EqualTo(256 + 64), "reservation where given, else the hard limit");
            Assert.That(demand.Ports.Select(p => (p.ContainerName, p.ContainerPort, p.HostPort)), Is.EqualTo(new[] { ("app", 80, 0), ("app", 53, 5353) }));
            Assert.That(demand.DynamicPortCount, Is.EqualTo(1));
        });
    }

    [Test]
    public void Task_level_sizes_replace_the_sum_of_the_containers()
    {
        var request = Valid();
        request.Cpu = 1024;
        request.Memory = 2048;
        request.ContainerDefinitions[1].Memory = 0; // allowed: the task sets memory
        var (_, demand) = TaskDefinitionValidator.Validate(request);
        Assert.That((demand.Cpu, demand.Memory), Is.EqualTo((1024, 2048)));
    }
}
