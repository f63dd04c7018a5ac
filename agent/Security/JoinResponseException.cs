namespace Orchestrator.Agent.Security;

/// <summary>The scheduler's answer to Join cannot be used.</summary>
internal sealed class JoinResponseException(string message) : Exception(message);
