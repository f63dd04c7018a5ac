namespace Orchestrator.Agent.Security;

/// <summary>The state directory's node credentials cannot be read or written.</summary>
internal sealed class CredentialStoreException(string message, Exception inner) : Exception(message, inner);
