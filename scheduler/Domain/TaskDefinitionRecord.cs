using System.Text.Json.Serialization;

namespace Orchestrator.Scheduler.Domain;

/// <summary>
/// One immutable revision of a task definition family. The container definitions are kept as the
/// contract's own message (serialized), because the scheduler only passes them on to agents; what
/// placement needs of them is summarised in <see cref="Demand"/>.
/// </summary>
internal sealed record TaskDefinitionRecord(
    string Family,
    int Revision,
    bool Active,
    DateTimeOffset RegisteredAt,
    DateTimeOffset? DeregisteredAt,
    byte[] Spec,
    TaskResourceDemand Demand)
{
    public IReadOnlyDictionary<string, string> Tags { get; init; } = Domain.Tags.None;

    /// <summary>DeleteTaskDefinitions asked for it: DELETE_IN_PROGRESS until nothing uses it.</summary>
    public DateTimeOffset? DeleteRequestedAt { get; init; }

    /// <summary>
    /// Deleted: what is kept is a tombstone without its spec, so that its revision number is never
    /// given out again; no API shows it.
    /// </summary>
    public bool Deleted { get; init; }

    public string Arn => FormatArn(Family, Revision);

    public TaskDefinitionState State =>
        DeleteRequestedAt is not null ? TaskDefinitionState.DeleteInProgress : Active ? TaskDefinitionState.Active : TaskDefinitionState.Inactive;

    public static string FormatArn(string family, int revision) => $"{family}:{revision}";
}

internal enum TaskDefinitionState
{
    Active,
    Inactive,
    DeleteInProgress,
}

/// <summary>What one task of a definition needs from a node.</summary>
/// <param name="Cpu">CPU units reserved.</param>
/// <param name="Memory">MiB reserved: the memory reservation where given, else the hard limit.</param>
/// <param name="Ports">Every port mapping, in container order; HostPort 0 asks for a dynamic port.</param>
internal sealed record TaskResourceDemand(int Cpu, int Memory, IReadOnlyList<PortRequest> Ports)
{
    /// <summary>Counted once: placement reads it for every node it looks at.</summary>
    [JsonIgnore]
    public int DynamicPortCount { get; } = Ports.Count(p => p.HostPort == 0);
}

internal sealed record PortRequest(string ContainerName, int ContainerPort, int HostPort, Protocol Protocol);
