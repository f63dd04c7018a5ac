using Orchestrator.Scheduler.HA;
using Orchestrator.Scheduler.Security;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Tests.HA;

internal sealed class StandbyCallPolicyTests
{
    [TestCase("/orchestrator.v1.TaskService/RunTask", false, true, StandbyAction.Forward)]
    [TestCase("/orchestrator.v1.TaskService/DescribeTasks", false, true, StandbyAction.Forward)]
    [TestCase("/orchestrator.v1.TaskService/WatchTasks", false, true, StandbyAction.Forward)]
    [TestCase("/orchestrator.v1.TaskService/ExecuteCommand", false, true, StandbyAction.Forward)]
    [TestCase("/orchestrator.v1.BalancerService/Connect", false, true, StandbyAction.Forward)]
    [TestCase("/orchestrator.v1.BalancerService/Connect", false, false, StandbyAction.RefuseWrite)]
    [TestCase("/orchestrator.v1.TargetGroupService/DescribeTargetHealth", false, true, StandbyAction.Forward)]
    [TestCase("/orchestrator.v1.ServiceService/WatchServiceEndpoints", false, true, StandbyAction.Forward)]
    [TestCase("/orchestrator.v1.TaskService/RunTask", true, true, StandbyAction.RefuseForwarded)]
    [TestCase("/orchestrator.v1.TaskService/DescribeTasks", true, false, StandbyAction.RefuseForwarded)]
    [TestCase("/orchestrator.v1.TaskService/RunTask", false, false, StandbyAction.RefuseWrite)]
    [TestCase("/orchestrator.v1.TaskService/StopTask", false, false, StandbyAction.RefuseWrite)]
    [TestCase("/orchestrator.v1.TokenService/RotateJoinToken", false, false, StandbyAction.RefuseWrite)]
    [TestCase("/orchestrator.v1.TaskService/DescribeTasks", false, false, StandbyAction.ServeStale)]
    [TestCase("/orchestrator.v1.ClusterService/ListClusters", false, false, StandbyAction.ServeStale)]
    [TestCase("/orchestrator.v1.TaskService/GetTaskProtection", false, false, StandbyAction.ServeStale)]
    [TestCase("/orchestrator.v1.EventService/WatchEvents", false, false, StandbyAction.ServeStale)]
    [TestCase("/orchestrator.v1.AgentService/Connect", false, true, StandbyAction.RefuseAgent)]
    [TestCase("/orchestrator.v1.AgentService/Join", false, false, StandbyAction.RefuseAgent)]
    [TestCase("/orchestrator.v1.AgentService/Session", true, true, StandbyAction.RefuseAgent)]
    [TestCase("/orchestrator.v1.AgentService/RenewCertificate", false, true, StandbyAction.RefuseAgent)]
    [TestCase("/orchestrator.v1.AgentService/GetCaCertificate", false, true, StandbyAction.Serve)]
    [TestCase("/grpc.health.v1.Health/Check", false, true, StandbyAction.Serve)]
    [TestCase("/grpc.health.v1.Health/Watch", true, false, StandbyAction.Serve)]
    [TestCase("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", false, false, StandbyAction.Serve)]
    public void A_standby_decides_by_the_method_the_loop_header_and_whether_a_leader_is_known(string method, bool forwarded, bool leaderKnown, StandbyAction expected) =>
        Assert.That(StandbyCallPolicy.Decide(method, forwarded, leaderKnown), Is.EqualTo(expected));

    [TestCase("", null)]
    [TestCase("  ", null)]
    [TestCase("sched-2.example:7400", "sched-2.example")]
    [TestCase("10.0.0.7:7400", "10.0.0.7")]
    [TestCase("[fd00::7]:7400", "fd00::7")]
    [TestCase("sched-3", "sched-3")]
    public void The_server_certificate_names_the_advertise_address_host(string address, string? host) =>
        Assert.That(AdvertisedAddress.HostOf(address), Is.EqualTo(host));

    [TestCase("10.0.0.7:7400", "127.0.0.1:7400", "10.0.0.7:7400")]
    [TestCase(" sched-2:7400 ", "0.0.0.0:7400", "sched-2:7400")]
    [TestCase("", "10.0.0.8:7401", "10.0.0.8:7401")]
    public void The_address_published_is_the_advertise_address_else_the_listen_address(string advertise, string listen, string expected) =>
        Assert.That(AdvertisedAddress.Of(new SchedulerOptions { AdvertiseAddress = advertise, Listen = listen }), Is.EqualTo(expected));

    [Test]
    public void A_wildcard_listen_address_is_published_with_the_hosts_name() =>
        Assert.That(AdvertisedAddress.Of(new SchedulerOptions { Listen = "0.0.0.0:7400" }), Is.EqualTo($"{System.Net.Dns.GetHostName()}:7400"));
}
