using Orchestrator.Scheduler.Placement;

namespace Orchestrator.Benchmarks;

/// <summary>
/// Packing quality: nodes used by each strategy for the same seeded mix of tasks, against the lower
/// bound max over cpu and memory of ⌈Σ demand / node capacity⌉. Tasks arrive one at a time, as RunTask
/// calls do, so this is online packing: no strategy sees the future.
/// </summary>
internal static class PackingBench
{
    public static void Run(Report report, int tasks, int seeds)
    {
        var strategies = new (string Name, PlacementStrategy[] Chain)[]
        {
            ("default (cpu+memory fit)", []),
            ("binpack(memory)", [new PlacementStrategy(StrategyKind.BinpackMemory)]),
            ("binpack(cpu)", [new PlacementStrategy(StrategyKind.BinpackCpu)]),
            ("random (baseline)", [new PlacementStrategy(StrategyKind.Random)]),
            ("spread(instanceId) (baseline)", [new PlacementStrategy(StrategyKind.SpreadNode)]),
        };

        var ratios = strategies.ToDictionary(s => s.Name, _ => new List<double>());
        var bounds = new List<int>();
        for (var seed = 1; seed <= seeds; seed++)
        {
            var demands = BenchCluster.RandomDemands(tasks, seed);
            var bound = Math.Max(
                (int)Math.Ceiling(demands.Sum(d => (double)d.Cpu) / BenchCluster.NodeCpu),
                (int)Math.Ceiling(demands.Sum(d => (double)d.Memory) / BenchCluster.NodeMemory));
            bounds.Add(bound);
            foreach (var (name, chain) in strategies)
            {
                var cluster = new BenchCluster(bound * 3);
                for (var i = 0; i < demands.Length; i++)
                {
                    var demand = demands[i];
                    // A new seed per call, as the scheduler hands out.
                    var result = PlacementEngine.Place(new PlacementRequest(demand, 1, chain, [], "family:bench"), cluster.Snapshot, (ulong)((seed * 1_000_003) + i));
                    cluster.Apply(result.Placed.Single(), demand);
                }

                var used = cluster.Nodes.Count(n => n.UsedCpu > 0 || n.UsedMemory > 0);
                ratios[name].Add((double)used / bound);
            }
        }

        foreach (var (name, _) in strategies)
        {
            report.Add("packing", $"{name}, {tasks:N0} tasks × {seeds} seeds", $"{ratios[name].Average():F3}× the bound",
                $"worst {ratios[name].Max():F3}×; bound ≈ {bounds.Average():N0} nodes of 16 vCPU / 64 GiB");
        }
    }
}
