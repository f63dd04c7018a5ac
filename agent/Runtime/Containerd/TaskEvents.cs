using Google.Protobuf.WellKnownTypes;

namespace Orchestrator.Agent.Runtime.Containerd;

/// <summary>containerd's task events (topic and packed event) as the agent's kinds. A pure function.</summary>
internal static class TaskEvents
{
    public const string Start = "/tasks/start";
    public const string Exit = "/tasks/exit";
    public const string Oom = "/tasks/oom";

    public static readonly IReadOnlyList<string> Topics = [Start, Exit, Oom];

    /// <summary>One event of a container's init process; null for any other (an exec'd process's exit, another topic).</summary>
    /// <remarks>
    /// The topic says the type: containerd packs events with type URLs of its own
    /// ("containerd.events.TaskExit"), which Any.Unpack would not take.
    /// </remarks>
    public static (RuntimeEventKind Kind, string ContainerId, int? ExitCode)? Parse(string topic, Any? packed)
    {
        if (packed is null)
        {
            return null;
        }

        switch (topic)
        {
            case Start:
                var start = global::Containerd.Events.TaskStart.Parser.ParseFrom(packed.Value);
                return (RuntimeEventKind.Started, start.ContainerId, null);
            case Exit:
                var exit = global::Containerd.Events.TaskExit.Parser.ParseFrom(packed.Value);

                // An exec'd process (a health check) exits with its own id; the init's is the container's.
                if (exit.Id.Length > 0 && exit.Id != exit.ContainerId)
                {
                    return null;
                }

                return (RuntimeEventKind.Died, exit.ContainerId, (int)exit.ExitStatus);
            case Oom:
                var oom = global::Containerd.Events.TaskOOM.Parser.ParseFrom(packed.Value);
                return (RuntimeEventKind.OutOfMemory, oom.ContainerId, null);
            default:
                return null;
        }
    }
}
