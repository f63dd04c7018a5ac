using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Orchestrator.Agent.Runtime.Probes;

/// <summary>
/// Health checks supplied by the agent for a runtime that has none (containerd): wraps the runtime, runs
/// each container's check by exec on its interval, timeout, retries and start period, and shows the
/// result in Inspect, List and Events as Docker shows its own.
/// </summary>
/// <remarks>
/// As Docker (moby daemon/health.go): the first probe runs one interval after the start, the next one
/// interval after the previous probe ENDED (Docker resets its timer after each result; its docs say so
/// too); a probe that outlives its timeout is killed and counts as a failure; a probe that cannot be
/// started in a running container counts as a failure. Where this differs, and why: a probe that cannot
/// be started because the runtime itself is unreachable gives no result (Docker's prober is the engine:
/// it cannot be unreachable from itself), and a probe that finds the container stopped ends the probing
/// without a result (Docker stops its prober on the exit event; this notices even with no event).
/// The check is kept on the container as the label <see cref="HealthCheckLabel.Key"/>, so that a
/// running container seen by List or Inspect after an agent restart is probed again, from starting.
/// A container that stops keeps its last status (as Docker's State.Health) until it is removed.
/// </remarks>
internal sealed partial class ProbedRuntime(IContainerRuntime inner, TimeProvider time, ILogger<ProbedRuntime>? logger = null) : IContainerRuntime, IDisposable
{
    /// <summary>Docker's defaults for an interval or timeout of 0.</summary>
    private static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How often to ask whether a probe whose output ended has exited (the engine may lag).</summary>
    private static readonly TimeSpan ExitPoll = TimeSpan.FromMilliseconds(50);

    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;
    private readonly object _gate = new();
    private readonly Dictionary<string, Watched> _containers = [];
    private readonly List<Subscriber> _subscribers = [];
    private long _generations;
    private bool _disposed;

    public RuntimeCapabilities Capabilities => inner.Capabilities;

    /// <summary>Containers being probed now (tests, metrics).</summary>
    public int Probing
    {
        get { lock (_gate) return _containers.Values.Count(w => w.Monitor is not null); }
    }

    public async Task<string> CreateAsync(ContainerSpec spec, CancellationToken cancellation)
    {
        if (spec.HealthCheck is not { } check)
        {
            return await inner.CreateAsync(spec, cancellation);
        }

        var labels = new Dictionary<string, string>(spec.Labels) { [HealthCheckLabel.Key] = HealthCheckLabel.Write(check) };
        var id = await inner.CreateAsync(spec with { Labels = labels }, cancellation);
        lock (_gate)
        {
            _containers[id] = new Watched(labels, check);
        }

        return id;
    }

    public async Task StartAsync(string id, CancellationToken cancellation)
    {
        await inner.StartAsync(id, cancellation);
        Watched? watched;
        lock (_gate)
        {
            _containers.TryGetValue(id, out watched);
        }

        if (watched is null)
        {
            // Created by an earlier agent: its check is on its label.
            if (await inner.InspectAsync(id, cancellation) is not { } info || HealthCheckLabel.Read(info.Labels) is not { } check)
            {
                return;
            }

            watched = Known(id, info.Labels, check);
        }

        Begin(id, watched, time.GetUtcNow());
    }

    public async Task StopAsync(string id, TimeSpan timeout, CancellationToken cancellation)
    {
        // Before the stop: a probe of a stopping container would fail and make it unhealthy on the way out.
        Halt(id, generation: long.MaxValue);
        await inner.StopAsync(id, timeout, cancellation);
    }

    public async Task RemoveAsync(string id, CancellationToken cancellation)
    {
        Halt(id, generation: long.MaxValue);
        await inner.RemoveAsync(id, cancellation);
        lock (_gate)
        {
            _containers.Remove(id);
        }
    }

    public async Task<ContainerInfo?> InspectAsync(string id, CancellationToken cancellation)
    {
        var generation = Interlocked.Read(ref _generations);
        return await inner.InspectAsync(id, cancellation) is { } info ? Overlay(info, generation) : null;
    }

    public async Task<IReadOnlyList<ContainerInfo>> ListAsync(string labelKey, string labelValue, CancellationToken cancellation)
    {
        var generation = Interlocked.Read(ref _generations);
        var containers = await inner.ListAsync(labelKey, labelValue, cancellation);
        return [.. containers.Select(c => Overlay(c, generation))];
    }

    /// <summary>The runtime's events, with the health changes of the probed containers that carry the label key=value.</summary>
    public async IAsyncEnumerable<RuntimeEvent> EventsAsync(string labelKey, string labelValue, [EnumeratorCancellation] CancellationToken cancellation)
    {
        var channel = Channel.CreateUnbounded<RuntimeEvent>(new UnboundedChannelOptions { SingleReader = true });
        var subscriber = new Subscriber(labelKey, labelValue, channel.Writer);
        lock (_gate)
        {
            _subscribers.Add(subscriber);
        }

        using var stopPump = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var pump = PumpAsync(labelKey, labelValue, subscriber, stopPump.Token);
        try
        {
            await foreach (var runtimeEvent in channel.Reader.ReadAllAsync(cancellation))
            {
                yield return runtimeEvent;
            }

            // The runtime's stream ended: end as it did, failure and all, so the caller resubscribes as it would.
            subscriber.Failure?.Throw();
        }
        finally
        {
            lock (_gate)
            {
                _subscribers.Remove(subscriber);
            }

            await stopPump.CancelAsync();
            await pump;
        }
    }

    public Task<RuntimeInfo> InfoAsync(CancellationToken cancellation) => inner.InfoAsync(cancellation);

    public Task EnsureImageAsync(string image, CancellationToken cancellation) => inner.EnsureImageAsync(image, cancellation);

    public Task CreateVolumeAsync(VolumeSpec spec, CancellationToken cancellation) => inner.CreateVolumeAsync(spec, cancellation);

    public Task<bool> VolumeExistsAsync(string name, CancellationToken cancellation) => inner.VolumeExistsAsync(name, cancellation);

    public Task RemoveVolumeAsync(string name, CancellationToken cancellation) => inner.RemoveVolumeAsync(name, cancellation);

    public Task<IReadOnlyList<LabelledResource>> ListVolumesAsync(string labelKey, string labelValue, CancellationToken cancellation) =>
        inner.ListVolumesAsync(labelKey, labelValue, cancellation);

    public Task CreateNetworkAsync(NetworkSpec spec, CancellationToken cancellation) => inner.CreateNetworkAsync(spec, cancellation);

    public Task RemoveNetworkAsync(string name, CancellationToken cancellation) => inner.RemoveNetworkAsync(name, cancellation);

    public Task<IReadOnlyList<LabelledResource>> ListNetworksAsync(string labelKey, string labelValue, CancellationToken cancellation) =>
        inner.ListNetworksAsync(labelKey, labelValue, cancellation);

    public IAsyncEnumerable<OutputChunk> ReadLogsAsync(string id, LogReadOptions options, CancellationToken cancellation) =>
        inner.ReadLogsAsync(id, options, cancellation);

    public Task<IExecProcess> ExecAsync(string id, ExecSpec spec, CancellationToken cancellation) => inner.ExecAsync(id, spec, cancellation);

    public void Dispose()
    {
        List<CancellationTokenSource> monitors;
        lock (_gate)
        {
            _disposed = true;
            monitors = [.. _containers.Values.Select(w => w.Monitor).OfType<CancellationTokenSource>()];
            foreach (var watched in _containers.Values)
            {
                watched.Monitor = null;
            }
        }

        monitors.ForEach(m => m.Cancel());
        (inner as IDisposable)?.Dispose();
    }

    private Watched Known(string id, IReadOnlyDictionary<string, string> labels, HealthCheckSpec check)
    {
        lock (_gate)
        {
            if (!_containers.TryGetValue(id, out var watched))
            {
                _containers[id] = watched = new Watched(labels, check);
            }

            return watched;
        }
    }

    /// <summary>Shows the probed health, adopts a running container that is not probed yet and stops probing one seen stopped.</summary>
    /// <param name="generation">Monitors begun after the runtime was asked are newer than what it answered: left alone.</param>
    private ContainerInfo Overlay(ContainerInfo info, long generation)
    {
        Watched? watched;
        lock (_gate)
        {
            _containers.TryGetValue(info.Id, out watched);
        }

        if (info.Running && watched?.Monitor is null && HealthCheckLabel.Read(info.Labels) is { } check)
        {
            watched ??= Known(info.Id, info.Labels, check);
            if (Begin(info.Id, watched, info.StartedAt ?? time.GetUtcNow(), onlyIfIdle: true))
            {
                LogAdopted(_logger, info.Id);
            }
        }
        else if (!info.Running && watched?.Monitor is not null)
        {
            Halt(info.Id, generation);
        }

        lock (_gate)
        {
            return watched?.State is { } state ? info with { Health = state.Status } : info;
        }
    }

    /// <summary>Probes the container from starting, replacing any monitor it had (a restart).</summary>
    /// <returns>False when nothing began: no check to run, disposed, or (<paramref name="onlyIfIdle"/>) probed already.</returns>
    private bool Begin(string id, Watched watched, DateTimeOffset containerStart, bool onlyIfIdle = false)
    {
        if (HealthState.CommandOf(watched.Check.Test) is not { } command)
        {
            return false;
        }

        CancellationTokenSource? previous;
        var monitor = new CancellationTokenSource();
        lock (_gate)
        {
            if (_disposed || (onlyIfIdle && watched.Monitor is not null))
            {
                return false;
            }

            previous = watched.Monitor;
            watched.Monitor = monitor;
            watched.Generation = Interlocked.Increment(ref _generations);

            // As Docker's initHealthMonitor: back to starting with no event (the start is the event).
            watched.State = HealthState.Starting;
        }

        previous?.Cancel();
        _ = MonitorAsync(id, watched, command, containerStart, monitor);
        return true;
    }

    /// <summary>Ends the probing of the container, keeping its last status.</summary>
    private void Halt(string id, long generation)
    {
        CancellationTokenSource? monitor = null;
        lock (_gate)
        {
            if (_containers.TryGetValue(id, out var watched) && watched.Generation <= generation)
            {
                monitor = watched.Monitor;
                watched.Monitor = null;
            }
        }

        monitor?.Cancel();
    }

    private async Task MonitorAsync(string id, Watched watched, IReadOnlyList<string> command, DateTimeOffset containerStart, CancellationTokenSource monitor)
    {
        await Task.Yield();
        var stop = monitor.Token;
        var interval = watched.Check.Interval > TimeSpan.Zero ? watched.Check.Interval : DefaultInterval;
        var timeout = watched.Check.Timeout > TimeSpan.Zero ? watched.Check.Timeout : DefaultTimeout;
        try
        {
            while (true)
            {
                await Task.Delay(interval, time, stop);
                var probeStart = time.GetUtcNow();
                var outcome = await ProbeAsync(id, command, timeout, stop);
                if (outcome == Outcome.ContainerStopped)
                {
                    Halt(id, watched.Generation);
                    return;
                }

                if (outcome != Outcome.NoResult)
                {
                    Apply(id, watched, monitor, outcome == Outcome.Success, probeStart - containerStart);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped, removed, died, restarted or disposed.
        }
        catch (Exception e)
        {
            LogMonitorFailed(_logger, id, e.Message);
            Halt(id, watched.Generation);
        }
    }

    private async Task<Outcome> ProbeAsync(string id, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken stop)
    {
        try
        {
            return await RunProbeAsync(id, command, timeout, stop);
        }
        catch (RuntimeUnavailableException e)
        {
            LogProbeNotRun(_logger, id, e.Message);
            return Outcome.NoResult;
        }
        catch (ContainerOperationException e)
        {
            // Refused or broken off: because the container stopped (no result), or in a running one (a failure, as Docker's).
            try
            {
                if (await inner.InspectAsync(id, stop) is not { Running: true })
                {
                    return Outcome.ContainerStopped;
                }
            }
            catch (RuntimeUnavailableException)
            {
                return Outcome.NoResult;
            }

            LogProbeNotStarted(_logger, id, e.Message);
            return Outcome.Failure;
        }
    }

    private async Task<Outcome> RunProbeAsync(string id, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken stop)
    {
        using var deadline = new CancellationTokenSource(timeout, time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(stop, deadline.Token);
        IExecProcess process;
        try
        {
            process = await inner.ExecAsync(id, new ExecSpec(command, Tty: false, Interactive: false, 0, 0, []), either.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !stop.IsCancellationRequested)
        {
            LogProbeTimedOut(_logger, id, timeout.TotalSeconds);
            return Outcome.Failure;
        }

        await using (process)
        {
            try
            {
                // The output is read only so the process never blocks on a full pipe; Docker keeps 4 KiB of it for
                // inspect, which ContainerInfo has no place for.
                var buffer = new byte[4096];
                while ((await process.ReadAsync(buffer, either.Token)).Count > 0)
                {
                }

                var state = await process.InspectAsync(either.Token);
                while (state.Running)
                {
                    await Task.Delay(ExitPoll, time, either.Token);
                    state = await process.InspectAsync(either.Token);
                }

                return state.ExitCode == 0 ? Outcome.Success : Outcome.Failure;
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested || stop.IsCancellationRequested)
            {
                // Over its timeout (a failure, as Docker's "Health check exceeded timeout"), or the probing ended: either
                // way the probe must not outlive it.
                await KillAsync(id, process);
                stop.ThrowIfCancellationRequested();
                LogProbeTimedOut(_logger, id, timeout.TotalSeconds);
                return Outcome.Failure;
            }
        }
    }

    private async Task KillAsync(string id, IExecProcess process)
    {
        try
        {
            await process.KillAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is ContainerOperationException or RuntimeUnavailableException)
        {
            LogProbeNotKilled(_logger, id, e.Message);
        }
    }

    private void Apply(string id, Watched watched, CancellationTokenSource monitor, bool success, TimeSpan sinceStart)
    {
        ContainerHealth changedTo;
        lock (_gate)
        {
            // Stopped or restarted while the probe ran: its result belongs to nobody (Docker's check of "done").
            if (watched.Monitor != monitor || monitor.IsCancellationRequested || watched.State is not { } before)
            {
                return;
            }

            var after = before.After(success, sinceStart, watched.Check);
            watched.State = after;
            if (after.Status == before.Status)
            {
                return;
            }

            // Written under the lock, so every subscriber sees the changes in the order they happened.
            changedTo = after.Status;
            var change = new RuntimeEvent(RuntimeEventKind.HealthChanged, id, watched.Labels, null, after.Status);
            foreach (var subscriber in _subscribers.Where(s => watched.Labels.GetValueOrDefault(s.LabelKey) == s.LabelValue))
            {
                subscriber.Events.TryWrite(change);
            }
        }

        LogHealthChanged(_logger, id, changedTo);
    }

    private async Task PumpAsync(string labelKey, string labelValue, Subscriber subscriber, CancellationToken cancellation)
    {
        await Task.Yield();
        try
        {
            await foreach (var runtimeEvent in inner.EventsAsync(labelKey, labelValue, cancellation))
            {
                if (runtimeEvent.Kind == RuntimeEventKind.Died)
                {
                    Halt(runtimeEvent.ContainerId, generation: long.MaxValue);
                }

                // A runtime that reports health of its own is not wrapped; one that is reports none worth passing on.
                if (runtimeEvent.Kind != RuntimeEventKind.HealthChanged)
                {
                    subscriber.Events.TryWrite(runtimeEvent);
                }
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            subscriber.Failure = ExceptionDispatchInfo.Capture(e);
        }
        finally
        {
            subscriber.Events.TryComplete();
        }
    }

    private enum Outcome
    {
        Success,
        Failure,

        /// <summary>The probe could not be run for a reason that says nothing of the container's health.</summary>
        NoResult,
        ContainerStopped,
    }

    private sealed class Watched(IReadOnlyDictionary<string, string> labels, HealthCheckSpec check)
    {
        public IReadOnlyDictionary<string, string> Labels { get; } = labels;
        public HealthCheckSpec Check { get; } = check;

        /// <summary>Null before the first start (no health to show).</summary>
        public HealthState? State { get; set; }

        /// <summary>Cancelled to end the probing; null while not probed.</summary>
        public CancellationTokenSource? Monitor { get; set; }

        public long Generation { get; set; }
    }

    private sealed class Subscriber(string labelKey, string labelValue, ChannelWriter<RuntimeEvent> events)
    {
        public string LabelKey { get; } = labelKey;
        public string LabelValue { get; } = labelValue;
        public ChannelWriter<RuntimeEvent> Events { get; } = events;
        public ExceptionDispatchInfo? Failure { get; set; }
    }

    [LoggerMessage(1, LogLevel.Information, "Container {ContainerId}: probing its health check again after the agent's restart")]
    private static partial void LogAdopted(ILogger logger, string containerId);

    [LoggerMessage(2, LogLevel.Information, "Container {ContainerId}: health is now {Health}")]
    private static partial void LogHealthChanged(ILogger logger, string containerId, ContainerHealth health);

    [LoggerMessage(3, LogLevel.Warning, "Container {ContainerId}: health probe not run, the runtime is unreachable: {Problem}")]
    private static partial void LogProbeNotRun(ILogger logger, string containerId, string problem);

    [LoggerMessage(4, LogLevel.Debug, "Container {ContainerId}: health probe could not start: {Problem}")]
    private static partial void LogProbeNotStarted(ILogger logger, string containerId, string problem);

    [LoggerMessage(5, LogLevel.Debug, "Container {ContainerId}: health probe exceeded its timeout ({Seconds} s) and was killed")]
    private static partial void LogProbeTimedOut(ILogger logger, string containerId, double seconds);

    [LoggerMessage(6, LogLevel.Warning, "Container {ContainerId}: a health probe over its timeout could not be killed: {Problem}")]
    private static partial void LogProbeNotKilled(ILogger logger, string containerId, string problem);

    [LoggerMessage(7, LogLevel.Error, "Container {ContainerId}: health probing failed and stops: {Problem}")]
    private static partial void LogMonitorFailed(ILogger logger, string containerId, string problem);
}
