namespace Orchestrator.Scheduler.HA;

/// <summary>What a standby does with one call.</summary>
internal enum StandbyAction
{
    /// <summary>Served here as on the leader: health, reflection, and the CA's certificate (shared by every scheduler).</summary>
    Serve,

    /// <summary>Sent to the leader as it came; the leader's answer, status and trailers go back as they are.</summary>
    Forward,

    /// <summary>A read while no leader is known: served from this scheduler's memory, marked as maybe stale.</summary>
    ServeStale,

    /// <summary>A write while no leader is known: refused, nothing changed.</summary>
    RefuseWrite,

    /// <summary>A call another standby already forwarded here: never forwarded again, so that two standbys that each think the other leads cannot bounce it.</summary>
    RefuseForwarded,

    /// <summary>An agent's call: agents hold their streams with the leader, so they are told where it is instead.</summary>
    RefuseAgent,
}

/// <summary>
/// The standby's choice for each call, by its gRPC method path alone: a pure function, so that the
/// interceptor stays a switch and the table can be tested without a host.
/// </summary>
internal static class StandbyCallPolicy
{
    private const string Package = "/orchestrator.v1.";
    private const string AgentService = Package + "AgentService/";
    private const string CaCertificate = AgentService + "GetCaCertificate";

    /// <param name="method">The gRPC method path, "/orchestrator.v1.TaskService/RunTask".</param>
    /// <param name="forwarded">The call carries the forwarded header: a standby sent it here.</param>
    /// <param name="leaderKnown">A leader other than this scheduler is known.</param>
    public static StandbyAction Decide(string method, bool forwarded, bool leaderKnown)
    {
        if (!method.StartsWith(Package, StringComparison.Ordinal) || string.Equals(method, CaCertificate, StringComparison.Ordinal))
        {
            // grpc.health.v1 and grpc.reflection describe this process, not the cluster.
            return StandbyAction.Serve;
        }

        if (method.StartsWith(AgentService, StringComparison.Ordinal))
        {
            return StandbyAction.RefuseAgent;
        }

        if (forwarded)
        {
            return StandbyAction.RefuseForwarded;
        }

        if (leaderKnown)
        {
            return StandbyAction.Forward;
        }

        return IsRead(method) ? StandbyAction.ServeStale : StandbyAction.RefuseWrite;
    }

    /// <summary>Describe*, List*, Get*, Watch*: the calls that change nothing (as ApiPermissions reads them).</summary>
    public static bool IsRead(string method)
    {
        var slash = method.LastIndexOf('/');
        var call = slash < 0 ? method : method[(slash + 1)..];
        return call.StartsWith("Describe", StringComparison.Ordinal) || call.StartsWith("List", StringComparison.Ordinal)
            || call.StartsWith("Get", StringComparison.Ordinal) || call.StartsWith("Watch", StringComparison.Ordinal);
    }
}
