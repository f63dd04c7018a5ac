using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Orchestrator.Agent.Runtime.Logs;

/// <summary>
/// Keeps each watched log under its max size: copies it to .1 (shifting older ones up to max files) and
/// truncates it in place. containerd's shim holds the file open with O_APPEND, so it cannot be renamed
/// away (the shim would go on writing into the renamed file): copy and truncate, as logrotate's
/// copytruncate, and the shim's next write lands at the new end, 0.
/// </summary>
/// <remarks>
/// A loop of its own (<see cref="Start"/>, ended by <see cref="Dispose"/>) rather than a hosted service:
/// it belongs to the containerd runtime, which makes it, watches each container's file as it starts it and
/// forgets it when it removes it; the Docker runtime has no use for it. The check is periodic (every
/// <c>interval</c>, 5 s by default), not per write as Docker's json-file: a log may go over its max by
/// what is written in one interval. What is written between the copy and the truncation is lost (the
/// copy catches up until the file stops growing, which makes that window small, not empty): the price of
/// copytruncate. Max files counts the live file, as Docker's max-file: 3 keeps path, path.1 and path.2;
/// 1 truncates only.
/// </remarks>
internal sealed partial class LogRotator(TimeProvider time, TimeSpan? interval = null, ILogger<LogRotator>? logger = null) : IDisposable
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(5);

    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;
    private readonly object _gate = new();
    private readonly Dictionary<string, Watched> _watched = [];
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <summary>Starts (or restarts) watching container <paramref name="id"/>'s log.</summary>
    /// <param name="maxBytes">Over this, the file is rotated (see <see cref="LogSize"/> for the settings' form).</param>
    /// <param name="maxFiles">Files kept, the live one included; 1 or more.</param>
    public void Watch(string id, string path, long maxBytes, int maxFiles)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFiles, 1);
        lock (_gate)
        {
            _watched[id] = new Watched(path, maxBytes, maxFiles);
        }
    }

    /// <summary>Stops watching it (its files stay: whoever removes the container removes them).</summary>
    public void Forget(string id)
    {
        lock (_gate)
        {
            _watched.Remove(id);
        }
    }

    /// <summary>Checks every <c>interval</c> until disposed or <paramref name="cancellation"/> is cancelled. Once only.</summary>
    public void Start(CancellationToken cancellation)
    {
        lock (_gate)
        {
            if (_loop is not null)
            {
                throw new InvalidOperationException("The log rotator has started already");
            }

            var linked = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, cancellation);
            _loop = LoopAsync(linked);
        }
    }

    /// <summary>Rotates every watched log that is over its max now.</summary>
    /// <returns>The ids of those rotated.</returns>
    public IReadOnlyList<string> CheckNow()
    {
        List<KeyValuePair<string, Watched>> watched;
        lock (_gate)
        {
            watched = [.. _watched];
        }

        var rotated = new List<string>();
        foreach (var (id, log) in watched)
        {
            try
            {
                if (RotateIfOver(log.Path, log.MaxBytes, log.MaxFiles))
                {
                    rotated.Add(id);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogRotationFailed(_logger, id, e.Message);
            }
        }

        return rotated;
    }

    /// <summary>Copy and truncate <paramref name="path"/> when it is larger than <paramref name="maxBytes"/>.</summary>
    /// <returns>True when it was rotated.</returns>
    public static bool RotateIfOver(string path, long maxBytes, int maxFiles)
    {
        var file = new FileInfo(path);
        if (!file.Exists || file.Length <= maxBytes)
        {
            return false;
        }

        using var live = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        if (maxFiles > 1)
        {
            // path.(max-1) falls off; path.k becomes path.(k+1); the live file's copy becomes path.1.
            File.Delete($"{path}.{maxFiles - 1}");
            for (var k = maxFiles - 2; k >= 1; k--)
            {
                if (File.Exists($"{path}.{k}"))
                {
                    File.Move($"{path}.{k}", $"{path}.{k + 1}");
                }
            }

            var written = File.GetLastWriteTimeUtc(path);
            using (var copy = new FileStream($"{path}.1", FileMode.CreateNew, FileAccess.Write, FileShare.Read))
            {
                // Until it stops growing: what the shim writes during the copy is caught up, not lost.
                live.Position = 0;
                var buffer = new byte[64 * 1024];
                int read;
                while ((read = live.Read(buffer)) > 0)
                {
                    copy.Write(buffer, 0, read);
                }
            }

            // path.1 was last written when the live file was: reads with since choose files by that time.
            File.SetLastWriteTimeUtc($"{path}.1", written);
        }

        live.SetLength(0);
        return true;
    }

    public void Dispose()
    {
        _stop.Cancel();
    }

    private async Task LoopAsync(CancellationTokenSource linked)
    {
        using (linked)
        using (var timer = new PeriodicTimer(interval ?? DefaultInterval, time))
        {
            try
            {
                while (await timer.WaitForNextTickAsync(linked.Token))
                {
                    CheckNow();
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private sealed record Watched(string Path, long MaxBytes, int MaxFiles);

    [LoggerMessage(1, LogLevel.Warning, "Container {ContainerId}: its log could not be rotated: {Problem}; trying again at the next check")]
    private static partial void LogRotationFailed(ILogger logger, string containerId, string problem);
}
