using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Security;

/// <summary>
/// The role each public call needs. Reads (Describe, List, Get, Watch) need read-only; creating and
/// deleting clusters, deregistering nodes and everything about tokens need admin; the rest of the
/// API (task definitions, tasks, services, attributes, tags, draining, secrets) needs operator: a
/// read-only token may describe and list secrets, which shows their metadata, never a value, and watch
/// and list cluster events (EventService has only those calls). A method this
/// table does not know needs admin: new calls are denied by default until someone decides.
/// TargetGroupService is as the operator services: Describe and List read-only, the rest operator.
/// BalancerService (orchestrator-balancer's stream) needs the balancer role, which admin also has; a
/// balancer token may call nothing else (<see cref="Allows"/>).
/// </summary>
internal static class ApiPermissions
{
    private const string Package = "/orchestrator.v1.";

    private static readonly HashSet<string> AdminOnly = new(StringComparer.Ordinal)
    {
        "ClusterService/CreateCluster",
        "ClusterService/DeleteCluster",
        "NodeService/DeregisterNode",
    };

    private static readonly HashSet<string> OperatorServices = new(StringComparer.Ordinal)
    {
        "ClusterService", "TaskDefinitionService", "NodeService", "TaskService", "ServiceService", "TagService", "SecretService", "EventService",
        "TargetGroupService",
    };

    private const string BalancerService = "BalancerService";

    /// <summary>What a call needs, or null for calls that take no API token (health, reflection, agents).</summary>
    /// <param name="method">The gRPC method path, "/orchestrator.v1.TaskService/RunTask".</param>
    public static ApiRole? Required(string method)
    {
        if (!method.StartsWith(Package, StringComparison.Ordinal))
        {
            // grpc.health.v1 and grpc.reflection: they tell nothing about the cluster.
            return null;
        }

        var name = method[Package.Length..];
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        var service = slash < 0 ? name : name[..slash];
        var call = slash < 0 ? "" : name[(slash + 1)..];
        if (service == "AgentService")
        {
            // Agents prove who they are with their certificate (or join with the join token).
            return null;
        }

        if (service == BalancerService)
        {
            return ApiRole.Balancer;
        }

        if (!OperatorServices.Contains(service) || AdminOnly.Contains(name))
        {
            return ApiRole.Admin;
        }

        return call.StartsWith("Describe", StringComparison.Ordinal) || call.StartsWith("List", StringComparison.Ordinal)
            || call.StartsWith("Get", StringComparison.Ordinal) || call.StartsWith("Watch", StringComparison.Ordinal)
            ? ApiRole.ReadOnly
            : ApiRole.Operator;
    }

    /// <summary>
    /// Whether a token of this role may make a call that needs that one. Read-only, operator and admin
    /// are ordered (each may do what the one before may); the balancer role is not on that ladder: it
    /// may make only the calls that need it, and those take it or admin.
    /// </summary>
    public static bool Allows(ApiRole role, ApiRole needed) => (role, needed) switch
    {
        (ApiRole.Balancer, _) => needed == ApiRole.Balancer,
        (_, ApiRole.Balancer) => role == ApiRole.Admin,
        _ => role >= needed,
    };

    public static string Name(ApiRole role) => role switch
    {
        ApiRole.Admin => "admin",
        ApiRole.Balancer => "balancer",
        ApiRole.Operator => "operator",
        _ => "read-only",
    };

    public static ApiRole? Parse(string name) => name switch
    {
        "admin" => ApiRole.Admin,
        "operator" => ApiRole.Operator,
        "read-only" => ApiRole.ReadOnly,
        "balancer" => ApiRole.Balancer,
        _ => null,
    };
}
