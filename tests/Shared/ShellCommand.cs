using System.ComponentModel;
using System.Diagnostics;

namespace Orchestrator.Tests.Shared;

/// <summary>Runs a program to its end and returns its exit code with its output (stdout, then stderr).</summary>
internal static class ShellCommand
{
    /// <returns>The exit code and output; -1 and the error where the program does not exist.</returns>
    public static (int ExitCode, string Output) Run(string program, params string[] arguments)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(info)!;
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, (output + error.Result).Trim());
        }
        catch (Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
