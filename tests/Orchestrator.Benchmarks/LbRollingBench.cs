using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Benchmarks;

/// <summary>The scenario both halves of lb-rolling run: the same replicas, client and waits.</summary>
/// <param name="Replicas">Tasks of the service (3).</param>
/// <param name="RatePerSecond">The steady client's rate (50/s).</param>
/// <param name="KeepAlive">False: a new connection per request (busybox httpd closes after each answer anyway).</param>
/// <param name="Before">The client runs this long against the settled service before the deployment starts.</param>
/// <param name="After">... and this long after it has converged.</param>
/// <param name="StepLimit">The bound of every wait (service up, deployment converged).</param>
internal sealed record RollingScenario(int Replicas, double RatePerSecond, bool KeepAlive, TimeSpan Before, TimeSpan After, TimeSpan StepLimit)
{
    public static readonly RollingScenario Default = new(3, 50, KeepAlive: false, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(120));

    /// <summary>The client for this scenario against a URL on loopback, bounded in time (and so in count).</summary>
    public SteadyHttpOptions Client(string url) =>
        new(new Uri(url), RatePerSecond, Before + After + StepLimit + StepLimit, int.MaxValue, TimeSpan.FromSeconds(2), KeepAlive);
}

/// <summary>What one half of lb-rolling measured.</summary>
/// <param name="Setup">How it ran, for the report ("3 replicas, ... ").</param>
/// <param name="UpdateTook">From asking for the deployment to its convergence.</param>
/// <param name="Note">Anything the reader must know (a fallback, an update order).</param>
internal sealed record RollingOutcome(string Setup, RollingFigures Figures, TimeSpan UpdateTook, string Note);

/// <summary>
/// Failed requests during a rolling deployment of a 3-replica service with a client at a steady rate through
/// the balancer (the target is none), ours (scheduler + agent + orchestrator-balancer's HAProxy) side by side
/// with Docker Swarm's routing mesh on the same engine (<see cref="SwarmRollingBaseline"/>), with the same
/// HTTP target (<see cref="RollingTarget"/>) and client (<see cref="SteadyHttpClient"/>); and the time from a
/// new task RUNNING and healthy to the first request it answers through the balancer.
/// </summary>
internal static class LbRollingBench
{
    public static async Task RunAsync(Report report, Func<RollingScenario, Task<RollingOutcome?>> orchestrator)
    {
        var scenario = RollingScenario.Default;
        var (ours, oursError) = await Attempt(() => orchestrator(scenario));
        var (swarm, swarmError) = await Attempt(() => SwarmRollingBaseline.RunAsync(scenario));

        var oursText = ours is null ? oursError ?? "not run: needs the balancer (LbRollingOrchestrator.RunAsync)" : null;
        var swarmText = swarm is null ? $"Docker Swarm not measured: {swarmError}" : null;
        var client = $"client at {scenario.RatePerSecond:0}/s, {(scenario.KeepAlive ? "keep-alive" : "a new connection per request")}, 2 s timeout, from {scenario.Before.TotalSeconds:0} s before the update to {scenario.After.TotalSeconds:0} s after it converged";
        report.Add("lb-rolling", $"rolling deployment of {scenario.Replicas} replicas, {client}: failed requests (target 0)",
            oursText ?? $"{ours!.Figures.All} ({ours.Setup}; update {ours.UpdateTook.TotalSeconds:F1} s{Noted(ours.Note)})",
            swarmText ?? $"Docker Swarm, {swarm!.Setup}: {swarm.Figures.All} (update {swarm.UpdateTook.TotalSeconds:F1} s{Noted(swarm.Note)})");
        report.Add("lb-rolling", "requests sent while the deployment ran (from asking to converged)",
            oursText ?? $"{ours!.Figures.DuringUpdate}; failures within {ours.Figures.FailureSpan.TotalSeconds:F2} s",
            swarmText ?? $"Docker Swarm: {swarm!.Figures.DuringUpdate}; failures within {swarm.Figures.FailureSpan.TotalSeconds:F2} s (first to last)");
        report.Add("lb-rolling", "a new task RUNNING and healthy → its first answer through the balancer",
            oursText ?? FirstRequest(ours!.Figures.ReadyToFirstRequest, ours.Figures),
            swarmText ?? $"Docker Swarm (task RUNNING, which Swarm reports once the container is healthy): {FirstRequest(swarm!.Figures.ReadyToFirstRequest, swarm.Figures)}");
        report.Add("lb-rolling", "a new task's container started → its first answer through the balancer",
            oursText ?? FirstRequest(ours!.Figures.StartToFirstRequest, ours.Figures),
            swarmText ?? $"Docker Swarm: {FirstRequest(swarm!.Figures.StartToFirstRequest, swarm.Figures)}");
    }

    private static string FirstRequest(IReadOnlyList<TimeSpan> times, RollingFigures figures) =>
        RollingFigures.Spread(times) + (figures.NeverServed.Count == 0 ? "" : $"; {figures.NeverServed.Count} new task(s) never answered");

    private static string Noted(string note) => note.Length == 0 ? "" : $"; {note}";

    private static async Task<(RollingOutcome? Outcome, string? Error)> Attempt(Func<Task<RollingOutcome?>> run)
    {
        try
        {
            return (await run(), null);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or HttpRequestException or IOException or System.Text.Json.JsonException or KeyNotFoundException or Grpc.Core.RpcException)
        {
            Console.Error.WriteLine($"lb-rolling: {e}");
            return (null, $"failed: {e.Message}");
        }
    }
}
