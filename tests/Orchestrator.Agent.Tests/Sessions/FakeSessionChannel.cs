using System.Threading.Channels;
using Grpc.Core;
using Orchestrator.Agent.Sessions;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Tests.Sessions;

/// <summary>The scheduler's end of AgentService/Session, in memory: what the agent sends, and what the test sends it.</summary>
internal sealed class FakeSessionChannel : ISessionChannel
{
    private readonly Channel<FakeSessionCall> _opened = Channel.CreateUnbounded<FakeSessionCall>();

    public int Opened { get; private set; }

    public ISessionCall Open(CancellationToken cancellation)
    {
        var call = new FakeSessionCall(cancellation);
        Opened++;
        _opened.Writer.TryWrite(call);
        return call;
    }

    /// <summary>The next call the agent opens.</summary>
    public async Task<FakeSessionCall> NextCallAsync() => await _opened.Reader.ReadAsync().AsTask().WaitAsync(FakeSessionCall.Bound);
}

internal sealed class FakeSessionCall : ISessionCall, IClientStreamWriter<AgentSessionMessage>, IAsyncStreamReader<SchedulerSessionMessage>
{
    /// <summary>How long a test waits for the agent at most: a bound on a hang, not a timing.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly Channel<AgentSessionMessage> _sent = Channel.CreateUnbounded<AgentSessionMessage>();
    private readonly Channel<SchedulerSessionMessage> _input = Channel.CreateUnbounded<SchedulerSessionMessage>();
    private readonly CancellationToken _callToken;

    public FakeSessionCall(CancellationToken callToken) => _callToken = callToken;

    public IClientStreamWriter<AgentSessionMessage> ToScheduler => this;

    public IAsyncStreamReader<SchedulerSessionMessage> FromScheduler => this;

    public WriteOptions? WriteOptions { get; set; }

    public TaskCompletionSource Disposed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool CompletedByAgent { get; private set; }

    public SchedulerSessionMessage Current { get; private set; } = null!;

    /// <summary>The next message the agent sent; null when it completed its side.</summary>
    public async Task<AgentSessionMessage?> NextAsync()
    {
        using var bound = new CancellationTokenSource(Bound);
        return await _sent.Reader.WaitToReadAsync(bound.Token) && _sent.Reader.TryRead(out var message) ? message : null;
    }

    /// <summary>Every message up to the agent's end of the call.</summary>
    public async Task<List<AgentSessionMessage>> RestAsync()
    {
        var rest = new List<AgentSessionMessage>();
        while (await NextAsync() is { } message)
        {
            rest.Add(message);
        }

        return rest;
    }

    public void Send(ExecuteCommandRequest request) => _input.Writer.TryWrite(new SchedulerSessionMessage { Exec = request });

    /// <summary>The scheduler ends the call (its client went).</summary>
    public void End() => _input.Writer.TryComplete();

    public Task WriteAsync(AgentSessionMessage message) => WriteAsync(message, CancellationToken.None);

    public Task WriteAsync(AgentSessionMessage message, CancellationToken cancellationToken)
    {
        _callToken.ThrowIfCancellationRequested();
        cancellationToken.ThrowIfCancellationRequested();
        if (CompletedByAgent)
        {
            throw new InvalidOperationException("written after completing");
        }

        _sent.Writer.TryWrite(message);
        return Task.CompletedTask;
    }

    public Task CompleteAsync()
    {
        CompletedByAgent = true;
        _sent.Writer.TryComplete();

        // A real scheduler ends the call once the agent has ended its side.
        _input.Writer.TryComplete();
        return Task.CompletedTask;
    }

    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _callToken);
        if (await _input.Reader.WaitToReadAsync(linked.Token) && _input.Reader.TryRead(out var message))
        {
            Current = message;
            return true;
        }

        return false;
    }

    public void Dispose()
    {
        _sent.Writer.TryComplete();
        Disposed.TrySetResult();
    }
}
