using System.Runtime.InteropServices;
using System.Text;

namespace Orchestrator.Scheduler.Storage;

/// <summary>
/// The one-writer guard of a data directory: an exclusive OS lock on <c>scheduler.lock</c> beside the
/// database, taken before anything in the directory is opened and held until disposed. Two schedulers
/// on one LiteDB file both acknowledge writes and silently lose one side's; this makes the second one
/// stop instead. The kernel drops the lock when the holder dies, kill -9 included, so a stale file
/// never blocks a start.
/// </summary>
internal sealed class DataDirectoryLock : IDisposable
{
    public const string FileName = "scheduler.lock";

    private readonly FileStream _file;

    private DataDirectoryLock(FileStream file, string path)
    {
        _file = file;
        Path = path;
    }

    /// <summary>The lock file.</summary>
    public string Path { get; }

    /// <summary>
    /// Takes the lock of the directory of <paramref name="databasePath"/>, creating the directory
    /// and the lock file where missing, and writes this process's id into the file.
    /// </summary>
    /// <exception cref="StorageException">Another process holds the lock (the message names its
    /// process id), or the lock file cannot be created.</exception>
    public static DataDirectoryLock Acquire(string databasePath)
    {
        var database = System.IO.Path.GetFullPath(databasePath);
        var directory = System.IO.Path.GetDirectoryName(database) ?? ".";
        var path = System.IO.Path.Combine(directory, FileName);
        FileStream file;
        try
        {
            Directory.CreateDirectory(directory);

            // FileShare.None is flock(LOCK_EX | LOCK_NB) on Linux (and a share lock on Windows): advisory,
            // per open file, so two holders in one process exclude each other as two processes do.
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (File.Exists(path) && IsHeld(e))
        {
            throw new StorageException(
                $"the data directory {directory} is in use by another scheduler ({DescribeHolder(path)} holds {path}); stop it first, or give this one another Scheduler:DataPath", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Said as a database that cannot be opened: that is what it is to the operator (exit code 2).
            throw new StorageException($"cannot open the state database {database}: cannot create its lock file {path}: {e.Message}", e);
        }

        try
        {
            // For people (cat scheduler.lock) and for the next scheduler's refusal: who holds it.
            var pid = Encoding.ASCII.GetBytes($"{Environment.ProcessId}\n");
            file.SetLength(0);
            file.Write(pid);
            file.Flush();
            return new DataDirectoryLock(file, path);
        }
        catch (IOException e)
        {
            file.Dispose();
            throw new StorageException($"cannot open the state database {database}: cannot write its lock file {path}: {e.Message}", e);
        }
    }

    public void Dispose() => _file.Dispose();

    // .NET answers flock's EWOULDBLOCK with an IOException whose HResult is the raw errno (11 on Linux);
    // Windows says ERROR_SHARING_VIOLATION. Any other failure is not someone else's lock.
    private static bool IsHeld(IOException e) => e.HResult is 11 or unchecked((int)0x80070020);

    /// <summary>"process 1234", from the holder's lock file; "another process" when it cannot be read.</summary>
    private static string DescribeHolder(string path) =>
        ReadUnlocked(path) is { } text && int.TryParse(text.Trim(), out var pid) && pid > 0
            ? $"process {pid}"
            : "another process";

    /// <summary>
    /// Reads a small file without taking a lock. .NET takes a shared flock on every file it opens for
    /// reading, which the holder's exclusive lock refuses, so the file is read through libc directly.
    /// </summary>
    private static string? ReadUnlocked(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        var fd = open(path, ORdOnly);
        if (fd < 0)
        {
            return null;
        }

        try
        {
            var buffer = new byte[32];
            var count = read(fd, buffer, buffer.Length);
            return count > 0 ? Encoding.ASCII.GetString(buffer, 0, (int)count) : null;
        }
        finally
        {
            _ = close(fd);
        }
    }

    private const int ORdOnly = 0;

#pragma warning disable SYSLIB1054 // three one-line P/Invokes; the source-generated form needs unsafe code for nothing here
    [DllImport("libc", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern nint read(int fd, byte[] buffer, nint count);

    [DllImport("libc")]
    private static extern int close(int fd);
#pragma warning restore SYSLIB1054
}
