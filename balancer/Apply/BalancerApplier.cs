using Microsoft.Extensions.Logging;
using Orchestrator.Balancer.Haproxy;
using Orchestrator.Balancer.Reconcile;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Balancer.Apply;

/// <summary>
/// The balancer's core: makes HAProxy serve the desired groups and says how it goes. Each call is the
/// whole diff against what HAProxy runs now (so a reconnect, a restart of HAProxy or a lost command is
/// made good by the next call): the groups whose new port is in use are left out (FAILED); a reload when
/// the configuration must change (new, removed or changed groups, slots run out), after saving the
/// servers' state so that the reload keeps it; then the runtime commands; then the report from
/// <c>show stat</c>. Not thread-safe: one caller (the loop of <see cref="Connection.BalancerLoop"/>).
/// </summary>
internal sealed partial class BalancerApplier(IHaproxyRuntime haproxy, IPortCheck ports, ApplierSettings settings, TimeProvider time, ILogger<BalancerApplier> log)
{
    private static readonly TimeSpan RetryFailedReload = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, TargetWatch> _watches = new(StringComparer.Ordinal);
    private IReadOnlyList<GroupLayout>? _loaded;
    private (IReadOnlyList<GroupLayout> Layout, string Reason, DateTimeOffset At)? _failedReload;
    private bool _unreachable;

    public async Task<BalancerReport> ReconcileAsync(IReadOnlyList<DesiredGroup> desired, CancellationToken cancellationToken)
    {
        IReadOnlyList<ServerSlot> actual;
        try
        {
            actual = await haproxy.ServersStateAsync(cancellationToken);
        }
        catch (HaproxyUnavailableException e)
        {
            if (!_unreachable)
            {
                LogUnreachable(log, e.Message);
                _unreachable = true;
            }

            WriteWhileDown(desired);
            return ReportBuilder.AllFailed(desired, e.Message);
        }

        if (_unreachable)
        {
            LogReachable(log);
            _unreachable = false;
        }

        try
        {
            return await ReconcileWithAsync(desired, actual, cancellationToken);
        }
        catch (HaproxyUnavailableException e)
        {
            LogUnreachable(log, e.Message);
            _unreachable = true;
            return ReportBuilder.AllFailed(desired, e.Message);
        }
    }

    private async Task<BalancerReport> ReconcileWithAsync(IReadOnlyList<DesiredGroup> desired, IReadOnlyList<ServerSlot> actual, CancellationToken cancellationToken)
    {
        var failures = new Dictionary<string, string>(StringComparer.Ordinal);
        var served = Servable(desired, failures);
        var first = Reconciler.Plan(served, actual);
        var layout = LayoutPlanner.Plan(served, _loaded, actual, first.OutOfSlots);
        if (layout.ReloadReason is { } why)
        {
            if (_failedReload is { } failed && failed.Layout.SequenceEqual(layout.Layout) && time.GetUtcNow() - failed.At < RetryFailedReload)
            {
                MarkNotLoaded(layout.Layout, actual, failed.Reason, failures);
            }
            else if (await ReloadAsync(layout.Layout, why, cancellationToken) is { } problem)
            {
                // A configuration HAProxy refused is not tried again for a while; a master that did not answer is, at once.
                _failedReload = problem.Refused ? (layout.Layout, problem.Reason, time.GetUtcNow()) : null;
                MarkNotLoaded(layout.Layout, actual, problem.Reason, failures);
            }
            else
            {
                _failedReload = null;
                _loaded = layout.Layout;
            }

            actual = await haproxy.ServersStateAsync(cancellationToken);
        }

        // Checked by reading the state again, and again applied when it is not there yet: just after a
        // reload the old worker may still take a command on the admin socket (and answer "No such backend").
        for (var pass = 0; pass < 3; pass++)
        {
            var plan = Reconciler.Plan(served, actual);
            if (plan.Commands.Count == 0)
            {
                break;
            }

            foreach (var command in plan.Commands)
            {
                var answer = (await haproxy.CommandAsync(command, cancellationToken)).Trim();
                if (answer.Length > 0 && !IsBenign(answer))
                {
                    LogCommandAnswer(log, command, answer);
                }
            }

            LogApplied(log, plan.Commands.Count);
            actual = await haproxy.ServersStateAsync(cancellationToken);
        }

        var stats = await haproxy.StatAsync(cancellationToken);
        return ReportBuilder.Build(desired, failures, actual, stats, _watches, time.GetUtcNow());
    }

    /// <summary>The groups that can be served: a port not yet HAProxy's must be free on this host; of two groups on one port, the first by name.</summary>
    private List<DesiredGroup> Servable(IReadOnlyList<DesiredGroup> desired, Dictionary<string, string> failures)
    {
        var held = _loaded is { } loaded ? loaded.Select(g => g.Settings.Port).ToHashSet() : ConfiguredPorts.In(AtomicFile.TryRead(settings.ConfigPath));
        var taken = new HashSet<int>();
        var served = new List<DesiredGroup>();
        foreach (var group in desired.OrderBy(g => g.Name, StringComparer.Ordinal))
        {
            if (!taken.Add(group.Port))
            {
                failures[group.Name] = $"port {group.Port} is taken by another target group on balancer {settings.BalancerName}";
                continue;
            }

            if (!held.Contains(group.Port) && ports.WhyNotFree(settings.BindAddress, group.Port) is { } problem)
            {
                failures[group.Name] = problem == "address already in use"
                    ? $"port {group.Port} is in use on balancer {settings.BalancerName}"
                    : $"cannot listen on {HaproxyConfigRenderer.Endpoint(settings.BindAddress, group.Port)} on balancer {settings.BalancerName}: {problem}";
                continue;
            }

            served.Add(group);
        }

        return served;
    }

    private static void MarkNotLoaded(IReadOnlyList<GroupLayout> layout, IReadOnlyList<ServerSlot> actual, string reason, Dictionary<string, string> failures)
    {
        var running = actual.Select(s => s.Backend).ToHashSet(StringComparer.Ordinal);
        foreach (var group in layout.Where(g => !running.Contains(HaproxyNames.Backend(g.Name))))
        {
            failures.TryAdd(group.Name, reason);
        }
    }

    /// <summary>Why a reload did not happen; <see cref="Refused"/> when HAProxy had the new configuration and did not take it.</summary>
    private sealed record ReloadFailure(string Reason, bool Refused);

    /// <returns>Null when HAProxy runs the new configuration, else why not.</returns>
    private async Task<ReloadFailure?> ReloadAsync(IReadOnlyList<GroupLayout> layout, string why, CancellationToken cancellationToken)
    {
        LogReloading(log, why);
        AtomicFile.Write(settings.StateFile, await haproxy.RawServersStateAsync(cancellationToken));
        var previous = AtomicFile.TryRead(settings.ConfigPath);
        AtomicFile.Write(settings.ConfigPath, HaproxyConfigRenderer.Render(settings.Render, layout));
        MasterCounters? before = null;
        for (var attempt = 0; before is null; attempt++)
        {
            try
            {
                // The master's CLI may refuse a moment (just started, or still busy with a reload).
                before = await haproxy.MasterCountersAsync(cancellationToken);
                await haproxy.ReloadAsync(cancellationToken);
            }
            catch (HaproxyUnavailableException e) when (attempt < 5)
            {
                LogMasterRetry(log, e.Message);
                before = null;
                await Task.Delay(TimeSpan.FromMilliseconds(200), time, cancellationToken);
            }
            catch (HaproxyUnavailableException e)
            {
                return Failed($"cannot reload haproxy: {e.Message}", refused: false);
            }
        }

        var deadline = time.GetUtcNow() + settings.ReloadTimeout;
        var reloaded = false;
        string last = "it did not answer";
        while (time.GetUtcNow() < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), time, cancellationToken);
            try
            {
                if (!reloaded)
                {
                    var after = await haproxy.MasterCountersAsync(cancellationToken);
                    if (after.Failed > before.Failed)
                    {
                        return Failed("haproxy refused the new configuration (see its log); it goes on with the previous one", refused: true);
                    }

                    reloaded = after.Reloads > before.Reloads;
                    continue;
                }

                var running = (await haproxy.ServersStateAsync(cancellationToken)).GroupBy(s => s.Backend, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
                if (layout.All(g => running.GetValueOrDefault(HaproxyNames.Backend(g.Name)) == g.Slots))
                {
                    LogReloaded(log, layout.Count);
                    return null;
                }

                last = "its admin socket does not show the new backends";
            }
            catch (HaproxyUnavailableException e)
            {
                // The master re-executes itself, the new worker starts: neither answers for a moment.
                last = e.Message;
            }
        }

        return Failed($"haproxy did not take the new configuration within {settings.ReloadTimeout.TotalSeconds:0} s: {last}", refused: reloaded);

        ReloadFailure Failed(string problem, bool refused)
        {
            LogReloadFailed(log, problem);
            if (refused && previous is not null)
            {
                // What HAProxy runs goes back on disk, so that a restart of HAProxy starts on it and not on what it refused.
                AtomicFile.Write(settings.ConfigPath, previous);
            }

            return new ReloadFailure(problem, refused);
        }
    }

    /// <summary>
    /// HAProxy is not running: the configuration is written all the same (ports checked as for a start),
    /// so that a HAProxy started on it (systemd's unit, CONFIG=) serves what the scheduler wants.
    /// </summary>
    private void WriteWhileDown(IReadOnlyList<DesiredGroup> desired)
    {
        try
        {
            _loaded = null;
            var failures = new Dictionary<string, string>(StringComparer.Ordinal);
            var served = Servable(desired, failures);
            var layout = LayoutPlanner.Plan(served, null, [], new HashSet<string>()).Layout;
            var text = HaproxyConfigRenderer.Render(settings.Render, layout);
            if (AtomicFile.TryRead(settings.ConfigPath) != text)
            {
                AtomicFile.Write(settings.ConfigPath, text);
                LogWroteWhileDown(log, settings.ConfigPath, layout.Count);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogWriteFailed(log, settings.ConfigPath, e.Message);
        }
    }

    private static bool IsBenign(string answer) =>
        answer.StartsWith("no need to change", StringComparison.Ordinal)
        || answer.StartsWith("IP changed from", StringComparison.Ordinal)
        || answer.StartsWith("port changed from", StringComparison.Ordinal);

    [LoggerMessage(1, LogLevel.Warning, "HAProxy cannot be reached: {Problem}; every target group is reported FAILED until it answers")]
    private static partial void LogUnreachable(ILogger logger, string problem);

    [LoggerMessage(2, LogLevel.Information, "HAProxy answers again; resyncing every target group")]
    private static partial void LogReachable(ILogger logger);

    [LoggerMessage(3, LogLevel.Information, "Reloading HAProxy: {Why}")]
    private static partial void LogReloading(ILogger logger, string why);

    [LoggerMessage(4, LogLevel.Information, "HAProxy runs the new configuration ({Groups} target groups)")]
    private static partial void LogReloaded(ILogger logger, int groups);

    [LoggerMessage(5, LogLevel.Error, "HAProxy reload failed: {Problem}")]
    private static partial void LogReloadFailed(ILogger logger, string problem);

    [LoggerMessage(6, LogLevel.Warning, "HAProxy answered \"{Command}\" with: {Answer}")]
    private static partial void LogCommandAnswer(ILogger logger, string command, string answer);

    [LoggerMessage(7, LogLevel.Debug, "Applied {Count} runtime commands")]
    private static partial void LogApplied(ILogger logger, int count);

    [LoggerMessage(8, LogLevel.Information, "HAProxy is not running; wrote {Path} ({Groups} target groups) for when it starts")]
    private static partial void LogWroteWhileDown(ILogger logger, string path, int groups);

    [LoggerMessage(10, LogLevel.Debug, "HAProxy's master socket did not answer ({Problem}); trying again")]
    private static partial void LogMasterRetry(ILogger logger, string problem);

    [LoggerMessage(9, LogLevel.Error, "Cannot write {Path}: {Problem}")]
    private static partial void LogWriteFailed(ILogger logger, string path, string problem);
}
