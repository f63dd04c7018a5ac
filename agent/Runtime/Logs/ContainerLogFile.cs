namespace Orchestrator.Agent.Runtime.Logs;

/// <summary>A container's output as containerd's shim writes it: one file (stdout and stderr together), rotated by copy and truncate. (helper D)</summary>
internal static class ContainerLogFile
{
    /// <summary>The file of container <paramref name="id"/> under the logs directory.</summary>
    public static string PathOf(string logsDirectory, string id) => Path.Combine(logsDirectory, id, "container.log");

    /// <summary>
    /// What was written (the rotated files first, oldest first), then with follow what is written until
    /// <paramref name="isRunning"/> says the container has stopped and the file has no more.
    /// </summary>
    public static IAsyncEnumerable<OutputChunk> ReadAsync(string path, LogReadOptions options, Func<CancellationToken, Task<bool>> isRunning, CancellationToken cancellation) =>
        throw new NotImplementedException(path + options + isRunning);
}
