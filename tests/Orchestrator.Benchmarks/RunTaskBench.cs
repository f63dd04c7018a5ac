using System.Diagnostics;
using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Benchmarks;

/// <summary>
/// RunTask end to end over real gRPC on loopback: the scheduler daemon as its own process, hundreds of
/// simulated agents (<see cref="SimulatedGrpcAgent"/>) holding their Connect streams and answering every start command with RUNNING, and
/// clients calling RunTask concurrently. The baseline is the bare gRPC round trip of a read-only call
/// (DescribeClusters) at the same concurrency, in the same run.
/// </summary>
internal static class RunTaskBench
{
    /// <summary>The same run twice: as users run it (TLS, tokens, agents on mutual TLS) and cleartext (the baseline).</summary>
    public static async Task RunAsync(Report report, int agents, int calls, int concurrency)
    {
        // Order matters on a shared two-core machine (the client side's JIT, the machine's other load):
        // ORCHESTRATOR_BENCH_SECURE_FIRST=1 runs the secure one first, to see both orders.
        var secureFirst = Environment.GetEnvironmentVariable("ORCHESTRATOR_BENCH_SECURE_FIRST") == "1";
        var first = await OnceAsync(secure: secureFirst, agents, calls, concurrency);
        var second = await OnceAsync(secure: !secureFirst, agents, calls, concurrency);
        var (secure, cleartext) = secureFirst ? (first, second) : (second, first);
        var unflushed = await OnceAsync(secure: false, agents, calls, concurrency, settings: ["--Scheduler:FlushCommits=false"]);
        report.Add("runtask", $"RunTask over gRPC, cleartext, commits not flushed (Scheduler:FlushCommits=false), same run",
            $"{unflushed.RunTask.PerSecond:N0} tasks/s, p50 {unflushed.RunTask.P50:F2} ms, p99 {unflushed.RunTask.P99:F2} ms",
            $"the flush costs {1 - (cleartext.RunTask.PerSecond / unflushed.RunTask.PerSecond):P0} of the throughput at {concurrency} callers (DescribeClusters here: {unflushed.Baseline.PerSecond:N0} calls/s)");
        foreach (var (run, how) in new[] { (secure, "TLS, tokens, agents on mutual TLS"), (cleartext, "cleartext (Scheduler:Insecure), tokens") })
        {
            report.Add("runtask", $"RunTask (count 1) over gRPC, {how}, {agents} agents, {concurrency} concurrent callers, {calls:N0} calls",
                $"{run.RunTask.PerSecond:N0} tasks/s, p50 {run.RunTask.P50:F2} ms, p99 {run.RunTask.P99:F2} ms",
                $"DescribeClusters round trip: {run.Baseline.PerSecond:N0} calls/s, p50 {run.Baseline.P50:F2} ms, p99 {run.Baseline.P99:F2} ms; {run.Running:N0} of {run.Expected:N0} tasks reported RUNNING");
            report.Add("runtask", $"RunTask against DescribeClusters, {how}, same run",
                $"{run.RunTask.PerSecond / run.Baseline.PerSecond:F2}× the throughput, p99 {run.RunTask.P99 / run.Baseline.P99:F2}×",
                $"RunTask {run.RunTask.Cpu}; DescribeClusters {run.Baseline.Cpu}");
        }

        report.Add("runtask", $"TLS against cleartext, same run ({(secureFirst ? "TLS" : "cleartext")} first)", $"{secure.RunTask.PerSecond / cleartext.RunTask.PerSecond:P0} of the cleartext tasks/s",
            $"p50 {secure.RunTask.P50 / cleartext.RunTask.P50:F2}×, p99 {secure.RunTask.P99 / cleartext.RunTask.P99:F2}× the cleartext latency");
        var joins = secure.JoinTimes.Order().ToList();
        report.Add("security", $"an agent joining: key, CSR, Join over TLS, {joins.Count} agents one after another",
            $"median {joins[joins.Count / 2]:F1} ms, p99 {joins[(int)(joins.Count * 0.99)]:F1} ms", "the certificate signed and the node's identity saved before the answer");
    }

    /// <summary>ORCHESTRATOR_BENCH_WARMUP=short gives the warm-up of a tenth that runs before 2026-12-05 had, to compare.</summary>
    private static int WarmUpCalls(int calls) =>
        Environment.GetEnvironmentVariable("ORCHESTRATOR_BENCH_WARMUP") == "short" ? calls / 10 : calls;

    internal sealed record Run(Latencies Baseline, Latencies RunTask, int Running, int Expected, IReadOnlyList<double> JoinTimes);

    /// <param name="alongside">Runs while the measured calls run (from the warm-up to the end), e.g. a
    /// Prometheus scraper; cancelled when they end.</param>
    internal static async Task<Run> OnceAsync(bool secure, int agents, int calls, int concurrency,
        Func<BenchScheduler, CancellationToken, Task>? alongside = null, string[]? settings = null)
    {
        var directory = Directory.CreateTempSubdirectory("orchestrator-bench-").FullName;
        var scheduler = new BenchScheduler(directory, secure, settings ?? []);
        try
        {
            var channel = scheduler.Channel;
            await scheduler.ServingAsync();

            var definitions = new TaskDefinitionService.TaskDefinitionServiceClient(channel);
            await definitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
            {
                Family = "bench",
                ContainerDefinitions = { new ContainerDefinition { Name = "app", Image = "busybox", Cpu = 256, Memory = 512 } },
            });

            using var stop = new CancellationTokenSource();
            var simulated = await scheduler.SimulatedAgentsAsync(agents);

            var agentTasks = simulated.Select(a => a.RunAsync(stop.Token)).ToList();
            int Running() => simulated.Sum(a => a.Starts);
            var nodes = new NodeService.NodeServiceClient(channel);
            var connected = 0;
            var waitUntil = DateTime.UtcNow.AddMinutes(3);
            while ((connected = (await nodes.ListNodesAsync(new ListNodesRequest { MaxResults = 1000 })).Nodes.Count(n => n.AgentConnected)) < agents)
            {
                if (DateTime.UtcNow > waitUntil)
                {
                    throw new TimeoutException($"only {connected} of {agents} simulated agents connected within 3 minutes ({(secure ? "TLS" : "cleartext")}); scheduler said: "
                        + string.Join("\n", scheduler.Process.StandardOutput.TakeLast(10)));
                }

                await Task.Delay(100);
            }

            Console.Error.WriteLine($"runtask ({(secure ? "TLS" : "cleartext")}): {agents} agents connected");

            var clusters = new ClusterService.ClusterServiceClient(channel);
            var tasks = new TaskService.TaskServiceClient(channel);
            // Warm-up as long as the measurement: the daemon's code must be past .NET's tiered JIT (a
            // profile of a tenth as long showed a quarter of the scheduler's CPU in the JIT while it
            // measured), or both rows measure compilation instead of the scheduler.
            var warmUp = WarmUpCalls(calls);
            using var stopAlongside = new CancellationTokenSource();
            var beside = alongside?.Invoke(scheduler, stopAlongside.Token) ?? Task.CompletedTask;
            await Measure(warmUp, concurrency, _ => clusters.DescribeClustersAsync(new DescribeClustersRequest()).ResponseAsync);
            await Measure(warmUp, concurrency, _ => tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "bench" }).ResponseAsync);

            var schedulerCpu = new CpuClock(scheduler.Process.Id);
            var baseline = await Measure(calls, concurrency, _ => clusters.DescribeClustersAsync(new DescribeClustersRequest()).ResponseAsync, schedulerCpu);
            var expected = calls + warmUp;
            // The RunTask phase ends when the last start is reported RUNNING: the CPU of those reports
            // (the agents' replies, their commits and acknowledgements) belongs to it too.
            Console.Error.WriteLine($"runtask ({(secure ? "TLS" : "cleartext")}): measuring RunTask"); // a mark to attach a profiler at
            var runTask = await Measure(calls, concurrency, _ => tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "bench" }).ResponseAsync, schedulerCpu,
                async () =>
                {
                    var deadline = DateTime.UtcNow.AddSeconds(30);
                    while (Running() < expected && DateTime.UtcNow < deadline)
                    {
                        await Task.Delay(5);
                    }
                });

            stopAlongside.Cancel();
            await beside;
            var run = new Run(baseline, runTask, Running(), expected, [.. scheduler.JoinTimes]);
            stop.Cancel();
            await Task.WhenAll(agentTasks);
            return run;
        }
        catch (RpcException e)
        {
            // A scheduler that stops answering is usually on its way out: give it a moment to say why.
            await Task.WhenAny(scheduler.Process.WaitForExitAsync(TimeSpan.FromSeconds(15)), Task.Delay(TimeSpan.FromSeconds(15)));
            throw new InvalidOperationException($"the scheduler stopped answering{(scheduler.Process.HasExited ? " and exited" : "")}; it wrote: "
                + string.Join("\n", scheduler.Process.StandardOutput.Take(40).Concat(["..."]).Concat(scheduler.Process.StandardOutput.TakeLast(10)).Concat(scheduler.Process.StandardError.TakeLast(30))), e);
        }
        finally
        {
            scheduler.Dispose();
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <param name="SchedulerCpuMs">The scheduler process's CPU time per call (user + system), in milliseconds.</param>
    /// <param name="ClientCpuMs">This process's CPU time per call: the callers and the simulated agents.</param>
    internal sealed record Latencies(double PerSecond, double P50, double P99, double SchedulerCpuMs = 0, double ClientCpuMs = 0)
    {
        public string Cpu => $"CPU per call: scheduler {SchedulerCpuMs:F2} ms, callers and agents {ClientCpuMs:F2} ms";
    }

    private static async Task<Latencies> Measure(int calls, int concurrency, Func<int, Task> call, CpuClock schedulerCpu, Func<Task>? settled = null)
    {
        var schedulerBefore = schedulerCpu.Read();
        var clientBefore = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        var result = await Measure(calls, concurrency, call);
        if (settled is not null)
        {
            await settled();
        }

        var schedulerMs = (schedulerCpu.Read() - schedulerBefore).TotalMilliseconds / calls;
        var clientMs = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - clientBefore).TotalMilliseconds / calls;
        return result with { SchedulerCpuMs = schedulerMs, ClientCpuMs = clientMs };
    }

    private static async Task<Latencies> Measure(int calls, int concurrency, Func<int, Task> call)
    {
        var latencies = new double[calls];
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < calls)
            {
                var started = Stopwatch.GetTimestamp();
                await call(i);
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }));
        var elapsed = clock.Elapsed;
        Array.Sort(latencies);
        return new Latencies(calls / elapsed.TotalSeconds, latencies[calls / 2], latencies[(int)(calls * 0.99)]);
    }
}
