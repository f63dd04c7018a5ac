using System.Runtime.InteropServices;

namespace Orchestrator.Scheduler.Storage;

/// <summary>
/// What makes a commit survive a power cut, not only a crash of the process: LiteDB 5 writes each
/// commit into its log file (<c>name-log.db</c>) through the OS page cache and returns without an
/// fsync (seen with strace: pwrite64 on the log, fsync only at a checkpoint of the data file). The
/// store's <see cref="GroupFlusher"/> calls this on its own thread after commits were written, and one
/// call covers every commit written before it began; no caller is answered before it returns.
/// </summary>
internal interface ICommitFlush
{
    /// <exception cref="IOException">The disk refused the flush.</exception>
    void AfterCommit(string databasePath);
}

/// <summary>Scheduler:FlushCommits=false: crash-safe only, for throwaway state (tests, a tmpfs).</summary>
internal sealed class NoCommitFlush : ICommitFlush
{
    public static readonly NoCommitFlush Instance = new();

    public void AfterCommit(string databasePath)
    {
    }
}

/// <summary>
/// fdatasync on LiteDB's log file (where the commit went), or on the database file when there is no
/// log (a checkpoint folded it in and LiteDB fsynced the file itself); an fsync of the directory too
/// whenever the log file is new, so that its name survives the power cut as well as its bytes.
/// </summary>
internal sealed class FsyncCommitFlush : ICommitFlush
{
    private const int ReadOnly = 0;
    private const int Directory = 0x10000;  // O_DIRECTORY on Linux
    private const int CloseOnExec = 0x80000; // O_CLOEXEC
    private const int NoSuchFile = 2;        // ENOENT
    private bool _logSeen;

    public void AfterCommit(string databasePath)
    {
        var log = LogPathOf(databasePath);
        var hasLog = File.Exists(log);
        if (hasLog && !TrySync(log))
        {
            // Gone since: LiteDB deletes its log as it closes, after folding it into the file and
            // syncing that, so the commits the log held are in the database file now.
            hasLog = false;
        }

        if (!hasLog)
        {
            Sync(databasePath, dataOnly: true);
        }

        if (hasLog && !_logSeen)
        {
            Sync(Path.GetDirectoryName(Path.GetFullPath(databasePath))!, dataOnly: false);
        }

        _logSeen = hasLog;
    }

    /// <summary>LiteDB 5's log file: "scheduler.db" → "scheduler-log.db", beside it.</summary>
    public static string LogPathOf(string databasePath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(databasePath))!, Path.GetFileNameWithoutExtension(databasePath) + "-log" + Path.GetExtension(databasePath));

    /// <summary>fdatasync of a file that may have been deleted meanwhile: false when it no longer exists.</summary>
    private static bool TrySync(string path)
    {
        var fd = Native.open(path, ReadOnly | CloseOnExec);
        if (fd < 0)
        {
            if (Marshal.GetLastPInvokeError() == NoSuchFile)
            {
                return false;
            }

            throw new IOException($"cannot open {path} to flush it: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        SyncOpen(fd, path, dataOnly: true);
        return true;
    }

    private static void Sync(string path, bool dataOnly)
    {
        var fd = Native.open(path, ReadOnly | CloseOnExec | (dataOnly ? 0 : Directory));
        if (fd < 0)
        {
            throw new IOException($"cannot open {path} to flush it: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        SyncOpen(fd, path, dataOnly);
    }

    private static void SyncOpen(int fd, string path, bool dataOnly)
    {
        try
        {
            if ((dataOnly ? Native.fdatasync(fd) : Native.fsync(fd)) != 0)
            {
                throw new IOException($"cannot flush {path} to disk: {Marshal.GetLastPInvokeErrorMessage()}");
            }
        }
        finally
        {
            _ = Native.close(fd);
        }
    }

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        public static extern int fdatasync(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int close(int fd);
    }
}
