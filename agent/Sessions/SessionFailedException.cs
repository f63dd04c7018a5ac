using Grpc.Core;

namespace Orchestrator.Agent.Sessions;

/// <summary>A session that cannot go on, with the status and message the scheduler gives the client.</summary>
internal sealed class SessionFailedException(StatusCode code, string message, Exception? inner = null) : Exception(message, inner)
{
    public StatusCode Code { get; } = code;
}
