using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Security;

namespace Orchestrator.Scheduler.Tests.Security;

/// <summary>The roles the task session calls need: reading logs is a read, exec changes what runs, the agent's side needs no token.</summary>
internal sealed class TaskSessionPermissionsTests
{
    [TestCase("/orchestrator.v1.TaskService/GetTaskLogs", ApiRole.ReadOnly)]
    [TestCase("/orchestrator.v1.TaskService/ExecuteCommand", ApiRole.Operator)]
    public void A_call_needs(string method, ApiRole role) => Assert.That(ApiPermissions.Required(method), Is.EqualTo(role));

    [Test]
    public void The_agents_session_takes_its_certificate_not_a_token() =>
        Assert.That(ApiPermissions.Required("/orchestrator.v1.AgentService/Session"), Is.Null);
}
