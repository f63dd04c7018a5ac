using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Orchestrator.Cli;

/// <summary>
/// The process's terminal on Linux and macOS. Raw mode goes through stty, which every such system has,
/// rather than termios structures whose layout differs between them; the settings stty -g saved are
/// given back on dispose, also when the command fails.
/// </summary>
internal sealed class PosixTerminal : ITerminal
{
    public (uint Rows, uint Columns) Size
    {
        get
        {
            try
            {
                return ((uint)Math.Max(Console.WindowHeight, 1), (uint)Math.Max(Console.WindowWidth, 1));
            }
            catch (IOException)
            {
                return (24, 80);
            }
        }
    }

    public IDisposable EnterRawMode()
    {
        var saved = Stty("-g");
        if (saved is null || Stty("raw", "-echo") is null)
        {
            throw new CliException("-t: cannot put the terminal into raw mode (stty failed)");
        }

        return new Restore(() => Stty(saved.Trim()));
    }

    public IDisposable OnResize(Action resized)
    {
        if (OperatingSystem.IsWindows())
        {
            return new Restore(() => { });
        }

        var registration = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => resized());
        return registration;
    }

    private static string? Stty(params string[] arguments)
    {
        var start = new ProcessStartInfo("stty") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(start);
            if (process is null)
            {
                return null;
            }

            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private sealed class Restore(Action restore) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                restore();
            }
        }
    }
}
