using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Domain;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Tests.Domain;

/// <summary>
/// Every domain value has a wire value and comes back as itself; wire values the domain has no word for
/// (UNSPECIFIED, or numbers from a newer peer) map to the neutral value, never to a cast number.
/// </summary>
internal sealed class WireEnumsTests
{
    [Test]
    public void Every_domain_value_goes_to_the_wire_and_back_unchanged()
    {
        Assert.Multiple(() =>
        {
            foreach (var state in Enum.GetValues<TaskState>())
            {
                Assert.That(WireEnums.ToDomain(WireEnums.ToWire(state)), Is.EqualTo(state), $"{state}");
            }

            foreach (var code in Enum.GetValues<TaskStopCode>())
            {
                Assert.That(WireEnums.ToDomain(WireEnums.ToWire(code)), Is.EqualTo(code), $"{code}");
            }

            foreach (var health in Enum.GetValues<HealthState>())
            {
                Assert.That(WireEnums.ToDomain(WireEnums.ToWire(health)), Is.EqualTo(health), $"{health}");
            }

            foreach (var protocol in Enum.GetValues<Protocol>())
            {
                Assert.That(WireEnums.ToDomain(WireEnums.ToWire(protocol)), Is.EqualTo(protocol), $"{protocol}");
            }
        });
    }

    [Test]
    public void Every_named_wire_value_has_a_meaning_in_the_domain()
    {
        Assert.Multiple(() =>
        {
            foreach (var status in Enum.GetValues<Contract.TaskStatus>().Where(s => s != Contract.TaskStatus.Unspecified))
            {
                Assert.That(WireEnums.ToDomain(status), Is.Not.Null, $"{status}");
            }

            foreach (var code in Enum.GetValues<Contract.StopCode>().Where(c => c != Contract.StopCode.Unspecified))
            {
                Assert.That(WireEnums.ToDomain(code), Is.Not.EqualTo(TaskStopCode.None), $"{code}");
            }

            foreach (var protocol in Enum.GetValues<Contract.TransportProtocol>())
            {
                Assert.That(WireEnums.ToDomain(protocol), Is.Not.Null, $"{protocol}");
            }
        });
    }

    [TestCase(Contract.TransportProtocol.Unspecified, Protocol.Tcp)]
    [TestCase(Contract.TransportProtocol.Tcp, Protocol.Tcp)]
    [TestCase(Contract.TransportProtocol.Udp, Protocol.Udp)]
    [TestCase((Contract.TransportProtocol)7, null)]
    public void Protocols_from_the_wire(Contract.TransportProtocol wire, Protocol? domain) =>
        Assert.That(WireEnums.ToDomain(wire), Is.EqualTo(domain));

    [Test]
    public void Unknown_values_from_an_agent_map_to_the_neutral_value()
    {
        Assert.Multiple(() =>
        {
            Assert.That(WireEnums.ToDomain((Contract.TaskStatus)42), Is.Null);
            Assert.That(WireEnums.ToDomain((Contract.StopCode)42), Is.EqualTo(TaskStopCode.None));
            Assert.That(WireEnums.ToDomain((Contract.HealthStatus)42), Is.EqualTo(HealthState.Unknown));
            Assert.That(WireEnums.ToDomain(Contract.TaskStatus.Unspecified), Is.Null);
        });
    }
}
