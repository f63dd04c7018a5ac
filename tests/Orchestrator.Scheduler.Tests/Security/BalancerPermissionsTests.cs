using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Security;

namespace Orchestrator.Scheduler.Tests.Security;

/// <summary>
/// Target groups are as the operator services; the balancer role stands apart from the ordered three:
/// a balancer token may call BalancerService and nothing else, and BalancerService takes only it or admin.
/// </summary>
internal sealed class BalancerPermissionsTests
{
    [TestCase("/orchestrator.v1.TargetGroupService/DescribeTargetGroups", ApiRole.ReadOnly)]
    [TestCase("/orchestrator.v1.TargetGroupService/ListTargetGroups", ApiRole.ReadOnly)]
    [TestCase("/orchestrator.v1.TargetGroupService/DescribeTargetHealth", ApiRole.ReadOnly)]
    [TestCase("/orchestrator.v1.TargetGroupService/CreateTargetGroup", ApiRole.Operator)]
    [TestCase("/orchestrator.v1.TargetGroupService/DeleteTargetGroup", ApiRole.Operator)]
    [TestCase("/orchestrator.v1.BalancerService/Connect", ApiRole.Balancer)]
    [TestCase("/orchestrator.v1.ServiceService/CreateTaskSet", ApiRole.Operator)]
    [TestCase("/orchestrator.v1.ServiceService/WatchServiceEndpoints", ApiRole.ReadOnly)]
    public void A_call_needs(string method, ApiRole role) => Assert.That(ApiPermissions.Required(method), Is.EqualTo(role));

    // Every role against every need: the whole table, so a new role or need cannot slip through by order.
    [TestCase(ApiRole.ReadOnly, ApiRole.ReadOnly, true)]
    [TestCase(ApiRole.ReadOnly, ApiRole.Operator, false)]
    [TestCase(ApiRole.ReadOnly, ApiRole.Admin, false)]
    [TestCase(ApiRole.ReadOnly, ApiRole.Balancer, false)]
    [TestCase(ApiRole.Operator, ApiRole.ReadOnly, true)]
    [TestCase(ApiRole.Operator, ApiRole.Operator, true)]
    [TestCase(ApiRole.Operator, ApiRole.Admin, false)]
    [TestCase(ApiRole.Operator, ApiRole.Balancer, false)]
    [TestCase(ApiRole.Admin, ApiRole.ReadOnly, true)]
    [TestCase(ApiRole.Admin, ApiRole.Operator, true)]
    [TestCase(ApiRole.Admin, ApiRole.Admin, true)]
    [TestCase(ApiRole.Admin, ApiRole.Balancer, true)]
    [TestCase(ApiRole.Balancer, ApiRole.ReadOnly, false)]
    [TestCase(ApiRole.Balancer, ApiRole.Operator, false)]
    [TestCase(ApiRole.Balancer, ApiRole.Admin, false)]
    [TestCase(ApiRole.Balancer, ApiRole.Balancer, true)]
    public void A_role_is_allowed_what_it_may_do(ApiRole role, ApiRole needed, bool allowed) =>
        Assert.That(ApiPermissions.Allows(role, needed), Is.EqualTo(allowed));

    [TestCase("/orchestrator.v1.TaskService/ListTasks")]
    [TestCase("/orchestrator.v1.TargetGroupService/ListTargetGroups")]
    [TestCase("/orchestrator.v1.TokenService/ListTokens")]
    [TestCase("/orchestrator.v1.ClusterService/CreateCluster")]
    [TestCase("/orchestrator.v1.ServiceService/DescribeServices")]
    [TestCase("/orchestrator.v1.NoSuchService/Anything")]
    public void A_balancer_token_may_call_nothing_but_the_balancers_stream(string method) =>
        Assert.That(ApiPermissions.Allows(ApiRole.Balancer, ApiPermissions.Required(method)!.Value), Is.False);

    [TestCase("balancer", ApiRole.Balancer)]
    [TestCase("admin", ApiRole.Admin)]
    [TestCase("read-only", ApiRole.ReadOnly)]
    public void A_role_name_reads_back_as_it_is_written(string name, ApiRole role) =>
        Assert.That((ApiPermissions.Parse(name), ApiPermissions.Name(role)), Is.EqualTo(((ApiRole?)role, name)));
}
