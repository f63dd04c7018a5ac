namespace Orchestrator.Cli;

/// <summary>The exit codes scripts can rely on (the README lists them).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>A gRPC error, bad input, a failure in an answer (a task not placed), a failed deployment.</summary>
    public const int Failure = 1;

    /// <summary>--wait: the deployment cannot place its tasks (the reasons are printed).</summary>
    public const int CannotPlace = 2;

    /// <summary>Interrupted (Ctrl-C), as shells report SIGINT.</summary>
    public const int Interrupted = 130;
}
