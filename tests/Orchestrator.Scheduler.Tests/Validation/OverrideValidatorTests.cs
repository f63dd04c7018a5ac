using Google.Protobuf;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using ContainerOverride = Orchestrator.Contracts.V1.ContainerOverride;

namespace Orchestrator.Scheduler.Tests.Validation;

/// <summary>RunTask's overrides: their syntax, their fit with the definition, and the demand they give.</summary>
internal sealed class OverrideValidatorTests
{
    /// <summary>app: 256 cpu, memory 512 reserving 256, port 80; sidecar: memory 64. Reserves 256 cpu, 320 MiB.</summary>
    private static TaskDefinitionEntry Entry(Action<RegisterTaskDefinitionRequest>? change = null)
    {
        var request = TaskDefinitionValidatorTests.Valid();
        change?.Invoke(request);
        var (spec, demand) = TaskDefinitionValidator.Validate(request);
        spec.Revision = 3;
        spec.TaskDefinitionArn = "web:3";
        return new TaskDefinitionEntry(new TaskDefinitionRecord("web", 3, true, DateTimeOffset.UnixEpoch, null, spec.ToByteArray(), demand), spec);
    }

    private static TaskOverride Overrides(int cpu = 0, int memory = 0, params ContainerOverride[] containers)
    {
        var overrides = new TaskOverride { Cpu = cpu, Memory = memory };
        overrides.ContainerOverrides.AddRange(containers);
        return overrides;
    }

    private static ContainerOverride App(int? cpu = null, int? memory = null, int? reservation = null) => Container("app", cpu, memory, reservation);

    private static ContainerOverride Container(string name, int? cpu = null, int? memory = null, int? reservation = null)
    {
        var container = new ContainerOverride { Name = name };
        if (cpu is { } c)
        {
            container.Cpu = c;
        }

        if (memory is { } m)
        {
            container.Memory = m;
        }

        if (reservation is { } r)
        {
            container.MemoryReservation = r;
        }

        return container;
    }

    private static ContainerOverride WithEnvironment(ContainerOverride container, params string[] names)
    {
        container.Environment.AddRange(names.Select(n => new EnvironmentVariable { Name = n, Value = "overridden" }));
        return container;
    }

    private static void Secret(RegisterTaskDefinitionRequest definition, int container, string name, bool asFile = false) =>
        definition.ContainerDefinitions[container].Secrets.Add(new Secret { Name = name, ValueFrom = "s", AsFile = asFile });

    private static IEnumerable<TestCaseData> BadSyntax()
    {
        TestCaseData Case(string name, TaskOverride overrides, string message) => new TestCaseData(overrides).Returns(message).SetName(name);

        yield return Case("no container name", Overrides(containers: Container("")), "overrides.containerOverrides[0].name: container name is required");
        yield return Case("a container twice", Overrides(containers: [App(), Container("sidecar"), App()]), "overrides.containerOverrides[2].name: container \"app\" is overridden twice");
        yield return Case("too many containers", Overrides(containers: [.. Enumerable.Range(0, 11).Select(i => Container($"c{i}"))]), "overrides.containerOverrides: at most 10 allowed, got 11");
        yield return Case("container memory too small", Overrides(containers: App(memory: 4)), "overrides.containerOverrides[0].memory: must be at least 6 MiB");
        yield return Case("container reservation of zero", Overrides(containers: App(reservation: 0)), "overrides.containerOverrides[0].memoryReservation: must be at least 6 MiB");
        yield return Case("negative container cpu", Overrides(containers: App(cpu: -1)), "overrides.containerOverrides[0].cpu: must be at least 0 CPU units, not -1");
        yield return Case("task memory too small", Overrides(memory: 5), "overrides.memory: must be at least 6 MiB, not 5");
        yield return Case("negative task cpu", Overrides(cpu: -2), "overrides.cpu: must be at least 0 CPU units, not -2");
        yield return Case("task cpu too big", Overrides(cpu: Limits.MaxCpu + 1), $"overrides.cpu: must be at most {Limits.MaxCpu} CPU units, not {Limits.MaxCpu + 1}");

        var environment = App();
        environment.Environment.Add(new EnvironmentVariable { Name = "A=B", Value = "x" });
        yield return Case("environment name with =", Overrides(containers: environment), "overrides.containerOverrides[0].environment[0].name: must be a non-empty name without '=' or control characters");

        var command = App();
        command.Command.Add("sh");
        command.Command.Add(new string('x', Limits.MaxStringLength + 1));
        yield return Case("command argument too long", Overrides(containers: command), $"overrides.containerOverrides[0].command[1]: must be at most {Limits.MaxStringLength} characters, not {Limits.MaxStringLength + 1}");
    }

    [TestCaseSource(nameof(BadSyntax))]
    public string Bad_syntax_is_refused_with_the_field(TaskOverride overrides)
    {
        var refused = Assert.Throws<RequestException>(() => OverrideValidator.Validate(overrides))!;
        Assert.That(refused.Kind, Is.EqualTo(RequestErrorKind.InvalidArgument));
        return refused.Message;
    }

    [Test]
    public void Overriding_nothing_is_no_overrides()
    {
        Assert.Multiple(() =>
        {
            Assert.That(OverrideValidator.Validate(null), Is.Null);
            Assert.That(OverrideValidator.Validate(new TaskOverride()), Is.Null);
        });
    }

    [Test]
    public void The_overrides_are_kept_as_given()
    {
        var app = App(cpu: 0, reservation: 300);
        app.Command.Add("echo");
        app.Command.Add("hi");
        app.Environment.Add(new EnvironmentVariable { Name = "MODE", Value = "batch" });
        var kept = OverrideValidator.Validate(Overrides(memory: 1024, containers: [app, Container("sidecar", memory: 128)]))!;
        Assert.Multiple(() =>
        {
            Assert.That((kept.Cpu, kept.Memory), Is.EqualTo((0, 1024)));
            Assert.That(kept.Containers[0].Command, Is.EqualTo(new[] { "echo", "hi" }));
            Assert.That(kept.Containers[0].Environment, Is.EqualTo(new[] { new EnvironmentEntry("MODE", "batch") }));
            Assert.That((kept.Containers[0].Cpu, kept.Containers[0].Memory, kept.Containers[0].MemoryReservation), Is.EqualTo(((int?)0, (int?)null, (int?)300)), "an explicit 0 cpu is an override; an absent field is not");
            Assert.That((kept.Containers[1].Name, kept.Containers[1].Memory), Is.EqualTo(("sidecar", (int?)128)));
        });
    }

    private static IEnumerable<TestCaseData> Demands()
    {
        TestCaseData Case(string name, TaskOverride overrides, int cpu, int memory, Action<RegisterTaskDefinitionRequest>? definition = null) =>
            new TestCaseData(definition, overrides).Returns((cpu, memory)).SetName(name);

        yield return Case("the definition's when only the command changes", Overrides(containers: Container("app")), 256, 320);
        yield return Case("a container's reservation", Overrides(containers: App(reservation: 400)), 256, 464);
        yield return Case("a container's hard limit counts only without a reservation", Overrides(containers: App(memory: 1024)), 256, 320);
        yield return Case("the sidecar's memory", Overrides(containers: Container("sidecar", memory: 128)), 256, 384);
        yield return Case("a container's cpu", Overrides(containers: [App(cpu: 1024), Container("sidecar", cpu: 10)]), 1034, 320);
        yield return Case("the task's sizes win over the containers'", Overrides(cpu: 512, memory: 2048, containers: App(cpu: 300)), 512, 2048);
        yield return Case("the task's memory overridden, its cpu the definition's", Overrides(memory: 4096), 1024, 4096, d => { d.Cpu = 1024; d.Memory = 1024; });
        yield return Case("a variable named as a secret file of the container", Overrides(containers: WithEnvironment(App(), "api-key")), 256, 320, d => Secret(d, 0, "api-key", asFile: true));
        yield return Case("a variable named as another container's secret", Overrides(containers: WithEnvironment(App(), "TOKEN")), 256, 320, d => Secret(d, 1, "TOKEN"));
    }

    [TestCaseSource(nameof(Demands))]
    public (int Cpu, int Memory) The_demand_has_the_overridden_sizes(Action<RegisterTaskDefinitionRequest>? definition, TaskOverride overrides)
    {
        var entry = Entry(definition);
        var demand = OverrideValidator.DemandOf(OverrideValidator.Validate(overrides)!, entry);
        Assert.That(demand.Ports, Is.EqualTo(entry.Record.Demand.Ports), "ports are the definition's");
        return (demand.Cpu, demand.Memory);
    }

    [Test]
    public void Overrides_that_change_no_size_reuse_the_definitions_demand()
    {
        var entry = Entry();
        var app = App();
        app.Command.Add("true");
        Assert.That(OverrideValidator.DemandOf(OverrideValidator.Validate(Overrides(containers: app))!, entry), Is.SameAs(entry.Record.Demand));
    }

    private static IEnumerable<TestCaseData> Misfits()
    {
        TestCaseData Case(string name, TaskOverride overrides, string message, Action<RegisterTaskDefinitionRequest>? definition = null) =>
            new TestCaseData(definition, overrides).Returns(message).SetName(name);

        yield return Case("a container the definition lacks", Overrides(containers: [App(), Container("x")]), "overrides.containerOverrides[1].name: no container named \"x\" in web:3");
        yield return Case("a reservation above the definition's hard limit", Overrides(containers: App(reservation: 1024)), "overrides.containerOverrides[0].memoryReservation: 1024 MiB is more than the hard limit, memory = 512 MiB");
        yield return Case("a hard limit below the definition's reservation", Overrides(containers: App(memory: 128)), "overrides.containerOverrides[0].memory: 256 MiB is more than the hard limit, memory = 128 MiB");
        yield return Case("task memory below a container's hard limit", Overrides(memory: 300), "overrides.memory: 512 MiB is more than the task's memory, 300 MiB");
        yield return Case("a container's hard limit above the task's memory", Overrides(memory: 1024, containers: App(memory: 2048)), "overrides.containerOverrides[0].memory: 2048 MiB is more than the task's memory, 1024 MiB");
        yield return Case("task cpu below the containers'", Overrides(cpu: 128), "overrides.cpu: the containers reserve 256 CPU units, more than the task's 128");
        yield return Case("containers' cpu above the definition's task cpu", Overrides(containers: App(cpu: 1024)), "overrides.containerOverrides: the containers reserve 1024 CPU units, more than the task's 512",
            d => d.Cpu = 512);
        yield return Case("an override of a secret variable", Overrides(containers: WithEnvironment(App(), "MODE", "DB_PASSWORD")), "overrides.containerOverrides[0].environment[1].name: \"DB_PASSWORD\" is given by containerDefinitions[0].secrets[0]",
            d => Secret(d, 0, "DB_PASSWORD"));
        yield return Case("an override of a secret variable also given as a file", Overrides(containers: [App(), WithEnvironment(Container("sidecar"), "TOKEN")]), "overrides.containerOverrides[1].environment[0].name: \"TOKEN\" is given by containerDefinitions[1].secrets[1]",
            d => { Secret(d, 1, "TOKEN", asFile: true); Secret(d, 1, "TOKEN"); });
        yield return Case("an override of a secret variable with sizes unchanged", Overrides(containers: WithEnvironment(Container("sidecar"), "TOKEN")), "overrides.containerOverrides[0].environment[0].name: \"TOKEN\" is given by containerDefinitions[1].secrets[0]",
            d => Secret(d, 1, "TOKEN"));
        yield return Case("containers' memory above the definition's task memory", Overrides(containers: [App(reservation: 500), Container("sidecar", memory: 512)]), "overrides.containerOverrides: the containers reserve 1012 MiB, more than the task's 600",
            d => d.Memory = 600);
    }

    [TestCaseSource(nameof(Misfits))]
    public string Overrides_that_do_not_fit_the_definition_are_refused_with_the_field(Action<RegisterTaskDefinitionRequest>? definition, TaskOverride overrides)
    {
        var refused = Assert.Throws<RequestException>(() => OverrideValidator.DemandOf(OverrideValidator.Validate(overrides)!, Entry(definition)))!;
        Assert.That(refused.Kind, Is.EqualTo(RequestErrorKind.InvalidArgument));
        return refused.Message;
    }
}
