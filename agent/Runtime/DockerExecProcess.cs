using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Orchestrator.Agent.Runtime;

/// <summary>
/// One exec on the engine, attached. Docker has no way to kill an exec: <see cref="KillAsync"/> runs a
/// second exec, as root in the same container, that SIGKILLs every process carrying this exec's marker
/// in its environment (the process and all it started, which inherit it). That works whatever pid
/// namespace the agent is in (the host's under systemd, its own in Compose, where the host pid that
/// exec inspect gives means nothing) and without privileges for the agent (under systemd it has no
/// capability to signal a root process itself); it needs sh, tr, grep and kill in the image.
/// </summary>
internal sealed class DockerExecProcess(DockerClient client, string containerId, string execId, string marker, MultiplexedStream stream, bool tty) : IExecProcess
{
    public const string MarkerName = "ORCHESTRATOR_EXEC";

    // $1 is the marker. Each /proc/PID/environ is NUL-separated; the killer's own shell carries no marker.
    private const string KillScript =
        "for d in /proc/[0-9]*; do if tr '\\0' '\\n' < \"$d/environ\" 2>/dev/null | grep -qxF \"$1\"; then kill -KILL \"${d#/proc/}\" 2>/dev/null; fi; done";

    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan SettleStep = TimeSpan.FromMilliseconds(100);
    private const int SettleSteps = 50;

    private int _disposed;
    private byte[] _buffer = [];

    public string Id => execId;

    public async Task<(OutputStream Stream, int Count)> ReadAsync(Memory<byte> buffer, CancellationToken cancellation)
    {
        while (true)
        {
            if (_buffer.Length < buffer.Length)
            {
                _buffer = new byte[buffer.Length];
            }

            var array = _buffer;
            MultiplexedStream.ReadResult read;

            // The attachment's stream may not heed the token while it waits for output: closing it ends the read.
            using (cancellation.Register(static s => ((MultiplexedStream)s!).Dispose(), stream))
            {
                read = await stream.ReadOutputAsync(array, 0, buffer.Length, cancellation);
            }

            if (read.EOF)
            {
                return (OutputStream.Stdout, 0);
            }

            if (read.Count > 0)
            {
                array.AsSpan(0, read.Count).CopyTo(buffer.Span);
                return (tty ? OutputStream.Stdout : DockerRuntime.ToOutput(read.Target), read.Count);
            }
        }
    }

    public Task WriteInputAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellation) =>
        stream.WriteAsync(bytes.ToArray(), 0, bytes.Length, cancellation);

    public void CloseInput() => stream.CloseWrite();

    public async Task ResizeAsync(ushort rows, ushort columns, CancellationToken cancellation)
    {
        try
        {
            await client.Exec.ResizeContainerExecTtyAsync(execId, new ContainerResizeParameters { Height = rows, Width = columns }, cancellation);
        }
        catch (DockerApiException e)
        {
            throw new ContainerOperationException($"cannot resize the terminal of the command in container {containerId}: {e.Message}", e);
        }
    }

    public async Task<ExecState> InspectAsync(CancellationToken cancellation)
    {
        var inspect = await client.Exec.InspectContainerExecAsync(execId, cancellation);
        return new ExecState(inspect.Running, inspect.Running ? null : (int)inspect.ExitCode);
    }

    public async Task<bool> KillAsync(CancellationToken cancellation)
    {
        if (!(await InspectAsync(cancellation)).Running)
        {
            return true;
        }

        try
        {
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            bounded.CancelAfter(KillWait);
            var killer = await client.Exec.ExecCreateContainerAsync(containerId, new ContainerExecCreateParameters
            {
                Cmd = ["sh", "-c", KillScript, "sh", marker],
                User = "0",
                AttachStdout = true,
                AttachStderr = true,
            }, bounded.Token);
            using (var output = await client.Exec.StartAndAttachContainerExecAsync(killer.ID, false, bounded.Token))
            {
                await output.ReadOutputToEndAsync(bounded.Token);
            }

            var killed = await client.Exec.InspectContainerExecAsync(killer.ID, bounded.Token);
            if (killed.ExitCode is 126 or 127)
            {
                throw new ContainerOperationException($"container {containerId} has no sh to kill the command with (exit code {killed.ExitCode})");
            }
        }
        catch (DockerApiException e) when (e.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            // The container is gone or stopped: so is the process.
        }

        // The exec is marked ended once the engine has seen its process exit.
        for (var step = 0; step < SettleSteps; step++)
        {
            if (!(await InspectAsync(cancellation)).Running)
            {
                return true;
            }

            await Task.Delay(SettleStep, cancellation);
        }

        return false;
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            stream.Dispose();
        }

        return ValueTask.CompletedTask;
    }
}
