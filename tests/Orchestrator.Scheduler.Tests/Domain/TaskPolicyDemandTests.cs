using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Tests.Domain;

/// <summary>What a definition needs of a node's policy: privileged, or a capability that amounts to it.</summary>
public sealed class TaskPolicyDemandTests
{
    private static IEnumerable<TestCaseData> Containers()
    {
        yield return new TestCaseData(new ContainerDefinition { Name = "a" }, "", false).SetName("plain: nothing");
        yield return new TestCaseData(new ContainerDefinition { Name = "a", Privileged = true }, "", true).SetName("privileged");
        foreach (var capability in new[] { "ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_RAWIO", "DAC_READ_SEARCH", "BPF", "PERFMON", "SYS_TIME", "MAC_ADMIN", "MAC_OVERRIDE" })
        {
            yield return new TestCaseData(WithCapability(capability), "bridge", true).SetName($"adds {capability}: privileged");
        }

        foreach (var capability in new[] { "NET_ADMIN", "NET_RAW", "CHOWN" })
        {
            yield return new TestCaseData(WithCapability(capability), "bridge", false).SetName($"adds {capability}: not privileged");
        }

        yield return new TestCaseData(WithCapability("NET_ADMIN"), "host", true).SetName("adds NET_ADMIN on the host's network: privileged");
        yield return new TestCaseData(WithCapability("NET_ADMIN"), "awsvpc", false).SetName("adds NET_ADMIN on its own network: not privileged");

        var dropsAll = new ContainerDefinition { Name = "a", LinuxParameters = new LinuxParameters { Capabilities = new KernelCapabilities { Drop = { "ALL" } } } };
        yield return new TestCaseData(dropsAll, "", false).SetName("drops ALL: not privileged");
    }

    [TestCaseSource(nameof(Containers))]
    public void A_definition_needs_privilege_for_a_privileged_container_or_a_host_equivalent_capability(ContainerDefinition container, string networkMode, bool privileged)
    {
        var spec = new TaskDefinition { NetworkMode = networkMode, ContainerDefinitions = { new ContainerDefinition { Name = "plain" }, container } };
        Assert.That(TaskPolicyDemand.Of(spec).Privileged, Is.EqualTo(privileged));
    }

    private static ContainerDefinition WithCapability(string capability) =>
        new() { Name = "a", LinuxParameters = new LinuxParameters { Capabilities = new KernelCapabilities { Add = { capability } } } };
}
