namespace Orchestrator.Cli;

/// <summary>Bad input the CLI itself finds (a file that is not JSON, a flag value it cannot use): one line, exit 1.</summary>
internal sealed class CliException(string message) : Exception(message);
