using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;
using Contract = Orchestrator.Contracts.V1;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Benchmarks;

/// <summary>
/// The service reconciler at scale, in process on the real state and a real LiteDB file: 1,000 services
/// of 10 tasks on 1,000 simulated nodes whose agents answer every start with RUNNING. Measures the first
/// convergence, the cost of a pass with nothing to do, and the convergence after a scheduler restart
/// (agents re-register with what they run; nothing may start again).
/// </summary>
internal static class ServiceBench
{
    /// <param name="flush">Commits flushed to disk (the default), or not (Scheduler:FlushCommits=false): this benchmark
    /// commits each agent's report on its own, 11,000 commits one after another, so it shows the flush at its dearest.</param>
    public static void Run(Report report, int services, int tasksPerService, int nodes, bool flush = true)
    {
        var how = flush ? "" : ", commits not flushed (Scheduler:FlushCommits=false)";
        var directory = Directory.CreateTempSubdirectory("orchestrator-service-bench-").FullName;
        var path = Path.Combine(directory, "bench.db");
        try
        {
            var agents = new Dictionary<string, InProcessAgent>();
            var options = new SchedulerOptions { PlacementSeed = 1, HeartbeatTimeout = TimeSpan.FromHours(1) };
            var state = Open(path, options, flush);
            foreach (var i in Enumerable.Range(0, nodes))
            {
                var agent = new InProcessAgent($"node-{i:D4}");
                agents[agent.Name] = agent;
                state.RegisterAgent(Registration(agent.Name), agent, []);
            }

            var spec = new Contract.TaskDefinition { Family = "svc" };
            spec.ContainerDefinitions.Add(new ContainerDefinition { Name = "app", Image = "busybox", Cpu = 64, Memory = 64 });
            state.RegisterTaskDefinition(spec, new TaskResourceDemand(64, 64, []));

            var clock = Stopwatch.StartNew();
            for (var i = 0; i < services; i++)
            {
                state.CreateService(new ServiceDefinition("default", $"svc-{i:D4}", "svc", tasksPerService, [new StrategySpec("spread", "")], [], 100, 200, 0, false, false, false));
            }

            var passes = Converge(state, agents, services * tasksPerService);
            var firstConvergence = clock.Elapsed;

            var idle = Stopwatch.StartNew();
            const int IdlePasses = 10;
            for (var i = 0; i < IdlePasses; i++)
            {
                state.ReconcileServices();
            }

            var passCost = idle.Elapsed / IdlePasses;

            // Restart: a new state on the same file; every agent comes back with what it runs.
            var started = agents.Values.Sum(a => a.Started);
            var restart = Stopwatch.StartNew();
            state = Open(path, options, flush);
            var load = restart.Elapsed;
            foreach (var agent in agents.Values)
            {
                state.RegisterAgent(Registration(agent.Name), agent, [.. agent.Running.Select(id => new TaskStateReport { TaskId = id, LastStatus = TaskStatus.Running })]);
            }

            var restartPasses = Converge(state, agents, services * tasksPerService);
            var afterRestart = restart.Elapsed;
            var startedAgain = agents.Values.Sum(a => a.Started) - started;

            report.Add("services", $"{services:N0} services × {tasksPerService} tasks on {nodes:N0} nodes: first convergence{how}", $"{firstConvergence.TotalSeconds:F1} s",
                $"{passes} passes; every task placed, started and reported RUNNING, each change committed to LiteDB");
            report.Add("services", $"one reconcile pass with nothing to do{how}", $"{passCost.TotalMilliseconds:F1} ms", $"over {services:N0} services and {services * tasksPerService:N0} tasks");
            report.Add("services", $"scheduler restart: load + agents re-register + converge{how}", $"{afterRestart.TotalSeconds:F1} s",
                $"load from LiteDB {load.TotalSeconds:F1} s; {restartPasses} passes; tasks started again: {startedAgain}");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static ClusterState Open(string path, SchedulerOptions options, bool flush) =>
        new(LiteDbStateStore.Open(path, flush ? null : NoCommitFlush.Instance), TimeProvider.System, new TaskEventHub(), options, NullLogger<ClusterState>.Instance);

    private static AgentRegistration Registration(string node) =>
        new("default", node, 16 * 1024, 64 * 1024, new Dictionary<string, string>(), "bench");

    /// <summary>Passes until every wanted task runs (and no agent has anything left to answer).</summary>
    private static int Converge(ClusterState state, Dictionary<string, InProcessAgent> agents, int expected)
    {
        for (var pass = 1; pass <= 100; pass++)
        {
            state.ReconcileServices();
            foreach (var agent in agents.Values)
            {
                agent.Answer(state);
            }

            if (agents.Values.Sum(a => a.Running.Count) >= expected && agents.Values.All(a => a.Idle))
            {
                state.ReconcileServices();
                return pass;
            }
        }

        throw new InvalidOperationException("the services did not converge in 100 passes");
    }
}
