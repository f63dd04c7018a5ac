using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Orchestrator.Agent.Runtime.Containerd;

/// <summary>Named pipes, which the runc shim writes an exec'd process's output to (and reads its input from).</summary>
internal static class Fifo
{
    private const int ORdWr = 2;
    private const int OWrOnlyNonBlock = 1 | 0x800;

    public static void Make(string path)
    {
        if (mkfifo(path, Convert.ToUInt32("600", 8)) != 0)
        {
            throw new IOException($"mkfifo {path}: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
        }
    }

    /// <summary>Opens the read end, which blocks until a writer has it open: on a thread of its own, not the pool's.</summary>
    public static Task<FileStream> OpenReadAsync(string path) =>
        Task.Factory.StartNew(() => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Opens the write end, which blocks until a reader has it open.</summary>
    public static Task<FileStream> OpenWriteAsync(string path) =>
        Task.Factory.StartNew(() => new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>
    /// Lets an open of either end that waits for its partner (which will never come: the process was
    /// not made) return: opening read-write never blocks, and counts as both.
    /// </summary>
    public static void Release(string path)
    {
        var fd = open(path, ORdWr);
        if (fd >= 0)
        {
            _ = close(fd);
        }
    }

    /// <summary>Wakes a reader waiting in read() with one byte (a reader that no longer wants the output); nothing when there is no reader.</summary>
    public static void Wake(string path)
    {
        var fd = open(path, OWrOnlyNonBlock);
        if (fd >= 0)
        {
            _ = write(fd, [0], 1);
            _ = close(fd);
        }
    }

#pragma warning disable SYSLIB1054 // four one-line P/Invokes; the source-generated form needs unsafe code for nothing here
    [DllImport("libc", SetLastError = true)]
    private static extern int mkfifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

    [DllImport("libc", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern nint write(int fd, byte[] buffer, nint count);

    [DllImport("libc")]
    private static extern int close(int fd);
#pragma warning restore SYSLIB1054
}
