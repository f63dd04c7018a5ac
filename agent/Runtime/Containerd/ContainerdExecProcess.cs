using System.Threading.Channels;
using Grpc.Core;
using Status = Containerd.V1.Types.Status;

namespace Orchestrator.Agent.Runtime.Containerd;

/// <summary>
/// A process exec'd in a container's task, its output read from the FIFOs the runc shim writes. Each
/// FIFO is read on a thread of its own (a FIFO read blocks), into one channel, so that
/// <see cref="ReadAsync"/> gives stdout and stderr in the order they came. No tty: containerd's
/// terminal needs a console socket, and only Docker's sessions offer one.
/// </summary>
internal sealed class ContainerdExecProcess : IExecProcess
{
    private const int ChunkBytes = 32 * 1024;

    /// <summary>How long an exec whose output has ended may take to be reported exited (the shim reaps it a moment later).</summary>
    private static readonly TimeSpan ExitSettle = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(10);

    private readonly ContainerdClients _clients;
    private readonly string _containerId;
    private readonly string _directory;
    private readonly FileStream _stdout;
    private readonly FileStream _stderr;
    private readonly Channel<(OutputStream Stream, byte[] Bytes)> _output = Channel.CreateBounded<(OutputStream, byte[])>(new BoundedChannelOptions(16) { SingleReader = true });
    private readonly Task _pumps;
    private FileStream? _stdin;
    private (OutputStream Stream, byte[] Bytes, int Offset)? _pending;
    private volatile bool _disposed;
    private ExecState? _last;

    public ContainerdExecProcess(ContainerdClients clients, string containerId, string execId, string directory, FileStream stdout, FileStream stderr, FileStream? stdin)
    {
        _clients = clients;
        _containerId = containerId;
        Id = execId;
        _directory = directory;
        _stdout = stdout;
        _stderr = stderr;
        _stdin = stdin;
        var pumps = new[] { Pump(stdout, OutputStream.Stdout), Pump(stderr, OutputStream.Stderr) };
        _pumps = Task.WhenAll(pumps).ContinueWith(t => _output.Writer.TryComplete(), TaskScheduler.Default);
    }

    public string Id { get; }

    /// <summary>Both outputs have reached end-of-file: the process (and what it started) closed them.</summary>
    private bool OutputEnded => _pumps.IsCompleted;

    public async Task<(OutputStream Stream, int Count)> ReadAsync(Memory<byte> buffer, CancellationToken cancellation)
    {
        if (_pending is null)
        {
            if (!await _output.Reader.WaitToReadAsync(cancellation) || !_output.Reader.TryRead(out var next))
            {
                return (OutputStream.Stdout, 0);
            }

            _pending = (next.Stream, next.Bytes, 0);
        }

        var (stream, bytes, offset) = _pending.Value;
        var count = Math.Min(buffer.Length, bytes.Length - offset);
        bytes.AsSpan(offset, count).CopyTo(buffer.Span);
        _pending = offset + count < bytes.Length ? (stream, bytes, offset + count) : null;
        return (stream, count);
    }

    public async Task WriteInputAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellation)
    {
        var stdin = _stdin ?? throw new ContainerOperationException($"the command in container {_containerId} has no input attached");
        await stdin.WriteAsync(bytes, cancellation);
    }

    public void CloseInput()
    {
        // The shim copies the FIFO to the process's stdin until end-of-file, then closes it.
        Interlocked.Exchange(ref _stdin, null)?.Dispose();
    }

    public Task ResizeAsync(ushort rows, ushort columns, CancellationToken cancellation) => Task.CompletedTask;

    public async Task<ExecState> InspectAsync(CancellationToken cancellation)
    {
        var state = await GetAsync(cancellation);
        if (state.Running && OutputEnded)
        {
            // The output ends as the process exits; its exit is recorded by the shim a moment later.
            await WaitAsync(ExitSettle, cancellation);
            state = await GetAsync(cancellation);
        }

        return state;
    }

    public async Task<bool> KillAsync(CancellationToken cancellation)
    {
        try
        {
            await _clients.Tasks.KillAsync(new global::Containerd.Services.Tasks.V1.KillRequest { ContainerId = _containerId, ExecId = Id, Signal = 9, All = true }, cancellationToken: cancellation);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.NotFound or StatusCode.FailedPrecondition)
        {
            // Exited already.
        }
        catch (RpcException e)
        {
            throw new ContainerOperationException($"cannot kill the command in container {_containerId}: {e.Status.Detail}", e);
        }

        await WaitAsync(KillWait, cancellation);
        return !(await GetAsync(cancellation)).Running;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        CloseInput();

        // A pump waiting in read() is woken by a byte of our own; it sees it is disposed and stops.
        Fifo.Wake(Path.Combine(_directory, "stdout"));
        Fifo.Wake(Path.Combine(_directory, "stderr"));
        _output.Writer.TryComplete();
        while (_output.Reader.TryRead(out _))
        {
        }

        await Task.WhenAny(_pumps, Task.Delay(TimeSpan.FromSeconds(5)));
        await _stdout.DisposeAsync();
        await _stderr.DisposeAsync();

        // containerd keeps an exited process until it is deleted; one that still runs is deleted when it ends.
        var state = await GetQuietlyAsync();
        if (state is { Running: true })
        {
            _ = Task.Run(async () =>
            {
                await WaitQuietlyAsync();
                await DeleteQuietlyAsync();
            });
        }
        else
        {
            await DeleteQuietlyAsync();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Gone already.
        }
    }

    private Task Pump(FileStream stream, OutputStream which) =>
        Task.Factory.StartNew(
            () =>
            {
                var buffer = new byte[ChunkBytes];
                while (!_disposed)
                {
                    int read;
                    try
                    {
                        read = stream.Read(buffer, 0, buffer.Length);
                    }
                    catch (Exception e) when (e is IOException or ObjectDisposedException)
                    {
                        return;
                    }

                    if (read == 0 || _disposed)
                    {
                        return;
                    }

                    try
                    {
                        _output.Writer.WriteAsync((which, buffer[..read])).AsTask().GetAwaiter().GetResult();
                    }
                    catch (ChannelClosedException)
                    {
                        return;
                    }
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

    private async Task<ExecState> GetAsync(CancellationToken cancellation)
    {
        try
        {
            var answer = await _clients.Tasks.GetAsync(new global::Containerd.Services.Tasks.V1.GetRequest { ContainerId = _containerId, ExecId = Id }, cancellationToken: cancellation);
            var process = answer.Process;
            _last = process.Status == Status.Stopped ? new ExecState(false, (int)process.ExitStatus) : new ExecState(process.Status != Status.Unknown, null);
            return _last;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            // Deleted (with its task, when the container stopped): what was last seen, else ended.
            return _last is { Running: false } ? _last : new ExecState(false, _last?.ExitCode);
        }
        catch (RpcException e)
        {
            throw new ContainerOperationException($"cannot inspect the command in container {_containerId}: {e.Status.Detail}", e);
        }
    }

    private async Task WaitAsync(TimeSpan timeout, CancellationToken cancellation)
    {
        try
        {
            var exited = await _clients.Tasks.WaitAsync(new global::Containerd.Services.Tasks.V1.WaitRequest { ContainerId = _containerId, ExecId = Id }, deadline: DateTime.UtcNow + timeout, cancellationToken: cancellation);
            _last = new ExecState(false, (int)exited.ExitStatus);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.DeadlineExceeded or StatusCode.NotFound)
        {
            // Still running, or gone: Get tells which.
        }
    }

    private async Task<ExecState?> GetQuietlyAsync()
    {
        try
        {
            return await GetAsync(CancellationToken.None);
        }
        catch (ContainerOperationException)
        {
            return null;
        }
    }

    private async Task WaitQuietlyAsync()
    {
        try
        {
            await _clients.Tasks.WaitAsync(new global::Containerd.Services.Tasks.V1.WaitRequest { ContainerId = _containerId, ExecId = Id });
        }
        catch (RpcException)
        {
            // Gone with its task, or containerd went away.
        }
    }

    private async Task DeleteQuietlyAsync()
    {
        try
        {
            await _clients.Tasks.DeleteProcessAsync(new global::Containerd.Services.Tasks.V1.DeleteProcessRequest { ContainerId = _containerId, ExecId = Id });
        }
        catch (RpcException)
        {
            // Gone with its task already.
        }
    }
}
