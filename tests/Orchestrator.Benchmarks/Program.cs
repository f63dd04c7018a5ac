using Orchestrator.Benchmarks;

// ./build.sh bench [placement] [packing] [runtask] [runtask-state] [services] [restart] [agent] [workload] [failover] [stop] [metrics] [logs] [etcd] [failover-ha] [lb-rolling] [swarm] [runtime-start] [thousand [COUNT]] — all but swarm, runtime-start, thousand, metrics, logs, etcd, failover-ha and lb-rolling when none is named.
var chosen = args.Length == 0 ? ["placement", "packing", "runtask", "services", "restart", "agent", "workload", "failover", "stop"] : args;
var report = new Report();
Console.Error.WriteLine($"Orchestrator benchmarks on {Environment.ProcessorCount} cores, .NET {Environment.Version}");
if (chosen.Contains("placement"))
{
    PlacementBench.Run(report, tasks: 10_000);
}

if (chosen.Contains("packing"))
{
    PackingBench.Run(report, tasks: 2_000, seeds: 5);
}

if (chosen.Contains("runtask"))
{
    await RunTaskBench.RunAsync(report, agents: 500, calls: 5_000, concurrency: 32);
}

if (chosen.Contains("runtask") || chosen.Contains("runtask-state"))
{
    StateRunTaskBench.Run(report, nodes: 500, calls: 5_000);
}

if (chosen.Contains("etcd"))
{
    await EtcdRunTaskBench.RunAsync(report, nodes: 500, stateCalls: 1_000, agents: 120, grpcCalls: 3_000, concurrency: 32);
}

if (chosen.Contains("services"))
{
    ServiceBench.Run(report, services: 1_000, tasksPerService: 10, nodes: 1_000);
    ServiceBench.Run(report, services: 1_000, tasksPerService: 10, nodes: 1_000, flush: false);
}

if (chosen.Contains("restart"))
{
    await RestartBench.RunAsync(report, agents: 500, tasksPerAgent: 10);
}

if (chosen.Contains("agent"))
{
    await AgentBench.RunAsync(report, swarm: chosen.Contains("swarm"));
}

if (chosen.Contains("workload"))
{
    await WorkloadBench.RunAsync(report);
}

if (chosen.Contains("failover"))
{
    await FailoverBench.RunAsync(report, runs: 3);
}

if (chosen.Contains("failover-ha"))
{
    await FailoverHaBench.RunAsync(report, rounds: 3, agents: 2);
}

if (chosen.Contains("metrics"))
{
    await MetricsBench.RunAsync(report, agents: 200, calls: 5_000, concurrency: 32, rounds: 3);
}

if (chosen.Contains("logs"))
{
    await LogsBench.RunAsync(report);
}

if (chosen.Contains("stop"))
{
    await StopBench.RunAsync(report, agents: 500, watchers: 100, tasksPerAgent: 2);
}

if (chosen.Contains("lb-rolling"))
{
    // Rolling deployment through the balancer against Docker Swarm's routing mesh on the same engine.
    await LbRollingBench.RunAsync(report, LbRollingOrchestrator.RunAsync);
}

if (chosen.Contains("runtime-start"))
{
    // The agent on Docker and on containerd against raw Docker.DotNet and ctr run, in the same run.
    await RuntimeBench.StartAsync(report);
}

if (chosen.Contains("thousand"))
{
    // ./build.sh bench thousand [COUNT]: COUNT tasks on one node (1,000 unless given) on each runtime.
    var at = Array.IndexOf(chosen, "thousand");
    var count = at + 1 < chosen.Length && int.TryParse(chosen[at + 1], out var given) && given > 0 ? Math.Min(given, 5_000) : 1_000;
    await RuntimeBench.ThousandAsync(report, count);
}

report.Print();
