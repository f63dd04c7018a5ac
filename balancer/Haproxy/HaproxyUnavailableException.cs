namespace Orchestrator.Balancer.Haproxy;

/// <summary>HAProxy could not be asked: its socket is missing, refuses, or may not be written. The message says which, naming the path.</summary>
internal sealed class HaproxyUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
