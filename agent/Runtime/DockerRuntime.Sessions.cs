using System.Globalization;
using System.Runtime.CompilerServices;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Orchestrator.Agent.Runtime;

/// <summary>Logs and exec of task sessions: the engine's streams, read and written through Docker.DotNet.</summary>
internal sealed partial class DockerRuntime
{
    /// <summary>What one read of the engine's stream takes at most: Docker writes a line in pieces of at most 16 KiB.</summary>
    private const int ReadBufferBytes = 32 * 1024;

    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(30);

    public async IAsyncEnumerable<OutputChunk> ReadLogsAsync(string id, LogReadOptions options, [EnumeratorCancellation] CancellationToken cancellation)
    {
        // A container made with a tty has one raw stream (all of it stdout); the others are multiplexed.
        var tty = await IsTtyAsync(id, cancellation);
        var parameters = new ContainerLogsParameters
        {
            ShowStdout = true,
            ShowStderr = true,
            Follow = options.Follow,
            Timestamps = options.Timestamps,
            Tail = options.Tail is { } tail ? tail.ToString(CultureInfo.InvariantCulture) : "all",
            Since = options.Since is { } since ? UnixTime(since) : null,
        };

        MultiplexedStream stream;
        try
        {
            stream = await _client.Containers.GetContainerLogsAsync(id, tty, parameters, cancellation);
        }
        catch (DockerApiException e)
        {
            throw new ContainerOperationException($"cannot read the logs of container {id}: {FirstLine(e.ResponseBody, e.Message)}", e);
        }
        catch (Exception e) when (IsConnectionLost(e))
        {
            throw Unreachable(e);
        }

        // Disposing the stream closes the connection: with follow, that is what makes the engine stop.
        // A read waiting for the container to write ends that way too, should it not heed the token.
        using (stream)
        using (cancellation.Register(static s => ((MultiplexedStream)s!).Dispose(), stream))
        {
            var buffer = new byte[ReadBufferBytes];
            while (true)
            {
                MultiplexedStream.ReadResult read;
                try
                {
                    read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellation);
                }
                catch (Exception e) when (cancellation.IsCancellationRequested && e is not OperationCanceledException)
                {
                    throw new OperationCanceledException("the log stream was closed", e, cancellation);
                }
                catch (Exception e) when (IsConnectionLost(e))
                {
                    throw Unreachable(e);
                }

                if (read.EOF)
                {
                    yield break;
                }

                if (read.Count > 0)
                {
                    yield return new OutputChunk(ToOutput(read.Target), buffer.AsSpan(0, read.Count).ToArray());
                }
            }
        }
    }

    public async Task<IExecProcess> ExecAsync(string id, ExecSpec spec, CancellationToken cancellation)
    {
        // The marker is how the process and everything it starts are found again to be killed (Docker
        // has no kill for an exec): its children inherit it.
        var marker = $"{DockerExecProcess.MarkerName}={Guid.NewGuid():N}";
        string execId;
        try
        {
            var created = await _client.Exec.ExecCreateContainerAsync(id, new ContainerExecCreateParameters
            {
                Cmd = [.. spec.Command],
                AttachStdin = spec.Interactive,
                AttachStdout = true,
                AttachStderr = true,
                Tty = spec.Tty,
                Env = [.. spec.Environment, marker],
            }, cancellation);
            execId = created.ID;
        }
        catch (DockerApiException e)
        {
            throw new ContainerOperationException($"cannot run a command in container {id}: {FirstLine(e.ResponseBody, e.Message)}", e);
        }
        catch (Exception e) when (IsConnectionLost(e))
        {
            throw Unreachable(e);
        }

        // Not cut short by the session's end: a start that the engine carried out but this side gave up
        // on would leave a process nobody kills. A session that ended meanwhile kills it once it is here.
        MultiplexedStream attached;
        try
        {
            using var starting = new CancellationTokenSource(StartBound);
            attached = await _client.Exec.StartAndAttachContainerExecAsync(execId, spec.Tty, starting.Token);
        }
        catch (DockerApiException e)
        {
            throw new ContainerOperationException($"cannot start the command in container {id}: {FirstLine(e.ResponseBody, e.Message)}", e);
        }
        catch (Exception e) when (IsConnectionLost(e))
        {
            throw Unreachable(e);
        }

        var process = new DockerExecProcess(_client, id, execId, marker, attached, spec.Tty);

        // Engine API 1.41 has no console size at create: the size is set once the process runs. The
        // size is a nicety: failing to set it must not lose the process, which runs already.
        if (spec.Tty && spec.Rows > 0 && spec.Columns > 0)
        {
            try
            {
                await process.ResizeAsync(spec.Rows, spec.Columns, CancellationToken.None);
            }
            catch (Exception e) when (e is ContainerOperationException || IsConnectionLost(e))
            {
                // The terminal keeps the engine's default size; a resize from the client fixes it.
            }
        }

        return process;
    }

    private async Task<bool> IsTtyAsync(string id, CancellationToken cancellation)
    {
        try
        {
            var inspect = await _client.Containers.InspectContainerAsync(id, cancellation);
            return inspect.Config?.Tty == true;
        }
        catch (DockerContainerNotFoundException e)
        {
            throw new ContainerOperationException($"container {id} is gone", e);
        }
        catch (Exception e) when (IsConnectionLost(e))
        {
            throw Unreachable(e);
        }
    }

    internal static OutputStream ToOutput(MultiplexedStream.TargetStream target) =>
        target == MultiplexedStream.TargetStream.StandardError ? OutputStream.Stderr : OutputStream.Stdout;

    /// <summary>Docker's since: seconds since the epoch with nanoseconds, "1700000000.123456789".</summary>
    internal static string UnixTime(DateTimeOffset time)
    {
        var ticks = time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var rest);
        if (rest < 0)
        {
            seconds--;
            rest += TimeSpan.TicksPerSecond;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{seconds}.{rest * 100:D9}");
    }
}
