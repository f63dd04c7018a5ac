using System.Diagnostics;
using Grpc.Net.Client;
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
    public static async Task RunAsync(Report report, int agents, int calls, int concurrency)
    {
        var directory = Directory.CreateTempSubdirectory("orchestrator-bench-").FullName;
        var port = DaemonProcess.FreePort();
        using var daemon = DaemonProcess.StartScheduler(Path.Combine(directory, "bench.db"), port, "--Logging:LogLevel:Default=Warning");
        try
        {
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions
            {
                HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
            });
            await daemon.RequireServingAsync(channel);

            var definitions = new TaskDefinitionService.TaskDefinitionServiceClient(channel);
            await definitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
            {
                Family = "bench",
                ContainerDefinitions = { new ContainerDefinition { Name = "app", Image = "busybox", Cpu = 256, Memory = 512 } },
            });

            using var stop = new CancellationTokenSource();
            var simulated = Enumerable.Range(0, agents).Select(i => new SimulatedGrpcAgent(channel, $"agent-{i:D4}")).ToList();
            var agentTasks = simulated.Select(a => a.RunAsync(stop.Token)).ToList();
            int Running() => simulated.Sum(a => a.Starts);
            var nodes = new NodeService.NodeServiceClient(channel);
            while ((await nodes.ListNodesAsync(new ListNodesRequest { MaxResults = 1000 })).Nodes.Count(n => n.AgentConnected) < agents)
            {
                await Task.Delay(100);
            }

            var clusters = new ClusterService.ClusterServiceClient(channel);
            var tasks = new TaskService.TaskServiceClient(channel);
            await Measure(calls / 10, concurrency, _ => clusters.DescribeClustersAsync(new DescribeClustersRequest()).ResponseAsync); // warm-up
            await Measure(calls / 10, concurrency, _ => tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "bench" }).ResponseAsync);

            var baseline = await Measure(calls, concurrency, _ => clusters.DescribeClustersAsync(new DescribeClustersRequest()).ResponseAsync);
            var runTask = await Measure(calls, concurrency, _ => tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "bench" }).ResponseAsync);
            var expected = calls + (calls / 10);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Running() < expected && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            report.Add("runtask", $"RunTask (count 1) over gRPC, {agents} agents connected, {concurrency} concurrent callers, {calls:N0} calls",
                $"{runTask.PerSecond:N0} tasks/s, p50 {runTask.P50:F2} ms, p99 {runTask.P99:F2} ms",
                $"DescribeClusters round trip: {baseline.PerSecond:N0} calls/s, p50 {baseline.P50:F2} ms, p99 {baseline.P99:F2} ms; {Running():N0} of {expected:N0} tasks reported RUNNING by their agents");
            stop.Cancel();
            await Task.WhenAll(agentTasks);
        }
        finally
        {
            daemon.Dispose();
            Directory.Delete(directory, recursive: true);
        }
    }

    private sealed record Latencies(double PerSecond, double P50, double P99);

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
