namespace Orchestrator.Scheduler.Domain;

/// <summary>
/// What an API token may do. ReadOnly, Operator and Admin go from least to most (Nomad's ACL policies,
/// simplified); Balancer stands apart: it may call the balancers' stream and nothing else, and that
/// stream takes only it or Admin. Never compare roles by order: ask <c>ApiPermissions.Allows</c>.
/// </summary>
internal enum ApiRole
{
    ReadOnly = 1,
    Operator = 2,
    Admin = 3,
    Balancer = 4,
}

/// <summary>An API token: only the hash of its secret is kept, so the store never holds a usable token.</summary>
internal sealed record ApiTokenRecord(string Id, string Name, ApiRole Role, string SecretHash, DateTimeOffset CreatedAt)
{
    public DateTimeOffset? RevokedAt { get; init; }
}

/// <summary>The current join token, as the hash of its secret. One record; rotation replaces it.</summary>
internal sealed record JoinTokenRecord(string SecretHash, DateTimeOffset CreatedAt)
{
    public const string Key = "join";
}

/// <summary>
/// A node's right to connect with a certificate: the serial of the certificate it was last given and
/// of the one before (a renewal's old certificate stays good until it expires, so an agent that
/// crashed while saving the new one is not locked out). Joining again replaces both; a revoked
/// identity (the node was deregistered) lets no certificate in until the node joins again.
/// </summary>
internal sealed record NodeIdentityRecord(string Cluster, string Node, string Serial)
{
    public string? PreviousSerial { get; init; }
    public bool Revoked { get; init; }

    public string Key => NodeRecord.KeyOf(Cluster, Node);
}
