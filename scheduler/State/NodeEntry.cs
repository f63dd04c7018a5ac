using System.Collections.Frozen;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;

namespace Orchestrator.Scheduler.State;

/// <summary>A node in memory: its durable record, what its tasks use, and its agent's stream.</summary>
internal sealed class NodeEntry(NodeRecord record)
{
    private NodeSnapshot? _snapshot;

    public NodeRecord Record { get; private set; } = record;

    /// <summary>Every attribute placement sees (the agent's and the custom ones), merged once per change.</summary>
    public IReadOnlyDictionary<string, string> Attributes { get; private set; } = record.AllAttributes();
    public NodeUsage Usage { get; } = new();
    public IAgentSession? Session { get; private set; }

    /// <summary>The certificate the current session was opened with; null without TLS or without a session.</summary>
    public SessionCredential? SessionCredential { get; private set; }
    public DateTimeOffset? LastHeartbeatAt { get; set; }

    /// <summary>Since when the node has had no agent stream (null while connected).</summary>
    public DateTimeOffset? DisconnectedAt { get; set; }

    /// <summary>
    /// While it has no agent: when the next of its tasks is due to be recorded lost (MaxValue: none
    /// left); null to look at once. Keeps the lost-node check from walking every task on every tick.
    /// </summary>
    public DateTimeOffset? NextLostCheckAt { get; set; }
    public bool Connected => Session is not null;

    public void Update(NodeRecord record)
    {
        Record = record;
        Attributes = record.AllAttributes();
        _snapshot = null;
    }

    public void Attach(IAgentSession? session, SessionCredential? credential = null)
    {
        Session = session;
        SessionCredential = session is null ? null : credential;
        _snapshot = null;
    }

    /// <summary>Call after <see cref="Usage"/> changed.</summary>
    public void UsageChanged() => _snapshot = null;

    /// <summary>
    /// An immutable picture for placement, rebuilt only after the node changed: a RunTask on a large
    /// cluster copies the few nodes that changed since the last one, not all of them.
    /// </summary>
    public NodeSnapshot Snapshot() => _snapshot ??= new NodeSnapshot(
        Record.Name,
        Record.Status,
        Connected,
        Record.TotalCpu,
        Record.TotalMemory,
        Usage.Cpu,
        Usage.Memory,
        Usage.Ports.ToFrozenSet(),
        Attributes,
        Usage.TasksByGroup.ToFrozenDictionary(StringComparer.Ordinal))
    {
        Policy = Record.Policy,
    };
}
