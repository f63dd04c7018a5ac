namespace Orchestrator.Benchmarks;

/// <summary>
/// THE HOOK FOR OUR HALF of lb-rolling, for the integrator to fill once the balancer is on main. It must run
/// <paramref name="scenario"/> through our own stack and measure it exactly as <see cref="SwarmRollingBaseline"/>
/// does for Swarm:
/// 1. a scheduler (<see cref="BenchScheduler"/>), a real agent process on the local Docker (Agent:HostIp
///    127.0.0.1, as AgentBench starts one) and an orchestrator-balancer with its own haproxy on loopback
///    (temp dir for config and sockets; never the system service);
/// 2. a target group (HTTP, port on 127.0.0.1) and a service of <c>scenario.Replicas</c> tasks of
///    orchestrator-test/busybox running <see cref="Orchestrator.Tests.Shared.RollingTarget.Command"/>
///    (container port 8080, host port dynamic, health check <see cref="Orchestrator.Tests.Shared.RollingTarget.HealthCommand"/>
///    every 1 s, as the Swarm half has) with load_balancers naming the target group and container port 8080;
/// 3. wait until the group has Replicas healthy targets and the listener answers, then
///    <c>SteadyHttpClient.Start(scenario.Client("http://127.0.0.1:PORT/"))</c>, keep the wall-clock time of the
///    start, wait <c>scenario.Before</c>, UpdateService with a new task definition revision (or force a new
///    deployment), wait until converged (all new tasks RUNNING, no old task left), wait <c>scenario.After</c>,
///    <c>StopAsync</c>;
/// 4. for each new task: its container's start (docker inspect State.StartedAt, backend name
///    RollingTarget.BackendOf(container id)) and the time it was RUNNING and healthy (its task's status change,
///    from WatchTasks), then <c>RollingFigures.Of(...)</c> and return a <see cref="RollingOutcome"/>;
/// 5. stop and remove everything it started, in a finally, every wait bounded by <c>scenario.StepLimit</c>.
/// Null means "not run": the report says so.
/// </summary>
internal static class LbRollingOrchestrator
{
    public static Task<RollingOutcome?> RunAsync(RollingScenario scenario)
    {
        _ = scenario;
        Console.Error.WriteLine("lb-rolling: our half not run: needs the balancer (LbRollingOrchestrator.RunAsync is the hook)");
        return Task.FromResult<RollingOutcome?>(null);
    }
}
