using System.Runtime.InteropServices;

namespace Orchestrator.Tests.Shared;

/// <summary>Sends a POSIX signal to a process the test started: the failures daemons must survive (SIGSTOP freezes, SIGCONT thaws).</summary>
internal static class PosixSignal
{
    // Linux signal numbers (x86-64 and arm64 alike).
    public const int Term = 15;
    public const int Cont = 18;
    public const int Stop = 19;

    public static void Send(int pid, int signal)
    {
        if (kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed with errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [DllImport("libc", SetLastError = true)]
#pragma warning disable SYSLIB1054 // a one-line P/Invoke; the source-generated form needs unsafe code for nothing here
    private static extern int kill(int pid, int sig);
#pragma warning restore SYSLIB1054
}
