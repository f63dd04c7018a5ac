using System.Diagnostics;
using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;
using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Benchmarks;

/// <summary>
/// Issue 14's measurement of task logs: a container's output read through the scheduler
/// (TaskService/GetTaskLogs, follow, over TLS with the admin token: scheduler → agent's session stream
/// → engine) against <c>docker logs -f</c> of the same container on the same host, in the same run.
/// Throughput: the time to receive every line of a container that has written 200,000 lines.
/// Latency: a container writing a line every 100 ms, read by both at once with the engine's timestamps;
/// a line's latency is when the reader got it minus when the engine received it.
/// </summary>
internal static class LogsBench
{
    private const string Image = "orchestrator-test/busybox:latest";
    private const int Lines = 200_000;
    private const int Rounds = 3;
    private const int LatencyLines = 50;

    public static async Task RunAsync(Report report)
    {
        var directory = Directory.CreateTempSubdirectory("orchestrator-logs-bench-").FullName;
        var node = $"bench-{Guid.NewGuid():N}"[..14];
        using var docker = new DockerClientConfiguration(new Uri("unix:///var/run/docker.sock")).CreateClient();
        using var scheduler = new BenchScheduler(directory, secure: true);
        await scheduler.ServingAsync();
        using var agent = DaemonProcess.Start("orchestrator-agent.dll",
        [
            .. scheduler.AgentArguments(node, Path.Combine(directory, "agent")), "--Agent:HostIp=127.0.0.1",
            "--Logging:LogLevel:Default=Warning", $"--Agent:SecretsDirectory={Path.Combine(directory, "secrets")}",
        ]);
        try
        {
            await scheduler.AgentConnectedAsync(agent);
            var tasks = new TaskService.TaskServiceClient(scheduler.Channel);
            var definitions = new TaskDefinitionService.TaskDefinitionServiceClient(scheduler.Channel);

            // Throughput: every line is written before either reader starts, so both read the same
            // stored log as fast as they can.
            await definitions.RegisterTaskDefinitionAsync(Definition("chatty",
                $"yes 'a line of a log, about as long as one that an application writes' | head -n {Lines}; sleep 3600"));
            var chatty = await RunAndWaitAsync(tasks, "chatty");
            await WrittenAsync(chatty.Containers[0].RuntimeId, Lines);
            var ours = new List<double>();
            var theirs = new List<double>();
            for (var round = 0; round < Rounds; round++)
            {
                theirs.Add(await DockerLogsAsync(chatty.Containers[0].RuntimeId, Lines));
                ours.Add(await SchedulerLogsAsync(tasks, chatty.TaskId, Lines));
            }

            var oursRate = Lines / Median(ours);
            var theirsRate = Lines / Median(theirs);
            report.Add("logs", $"all {Lines:N0} lines of a container, followed through the scheduler (GetTaskLogs, TLS), median of {Rounds}",
                $"{oursRate:N0} lines/s ({Median(ours) * 1000:F0} ms)",
                $"`docker logs -f` of the same container: {theirsRate:N0} lines/s ({Median(theirs) * 1000:F0} ms), ours {oursRate / theirsRate:F2}× its rate");

            // Latency: both follow the same container at once.
            await definitions.RegisterTaskDefinitionAsync(Definition("ticker", "while true; do echo tick; usleep 100000; done"));
            var ticker = await RunAndWaitAsync(tasks, "ticker");
            var oursLatency = SchedulerLatencyAsync(tasks, ticker.TaskId);
            var theirsLatency = DockerLatencyAsync(ticker.Containers[0].RuntimeId);
            var (o, t) = (await oursLatency, await theirsLatency);
            report.Add("logs", $"latency of a line followed through the scheduler (engine timestamp to the client), {LatencyLines} lines",
                $"median {o[o.Count / 2]:F1} ms, p99 {o[(int)(o.Count * 0.99)]:F1} ms",
                $"`docker logs -f --timestamps` of the same lines at the same time: median {t[t.Count / 2]:F1} ms, p99 {t[(int)(t.Count * 0.99)]:F1} ms");
        }
        finally
        {
            agent.Dispose();
            await RemoveAsync(docker, node);
            Directory.Delete(directory, recursive: true);
        }
    }

    private static RegisterTaskDefinitionRequest Definition(string family, string script) => new()
    {
        Family = family,
        ContainerDefinitions =
        {
            new ContainerDefinition
            {
                Name = "app", Image = Image, Command = { "sh", "-c", script }, Memory = 32, StopTimeoutSeconds = 1,
                // The engine's json-file driver, as `docker logs` of a plain `docker run` reads it; big
                // enough that no line of the run is rotated away.
                LogConfiguration = new LogConfiguration { LogDriver = "json-file", Options = { ["max-size"] = "100m" } },
            },
        },
    };

    /// <returns>Seconds to receive <paramref name="lines"/> lines through GetTaskLogs.</returns>
    private static async Task<double> SchedulerLogsAsync(TaskService.TaskServiceClient tasks, string taskId, int lines)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var clock = Stopwatch.StartNew();
        using var call = tasks.GetTaskLogs(new GetTaskLogsRequest { Task = taskId, Follow = true }, cancellationToken: timeout.Token);
        var received = 0;
        while (received < lines && await call.ResponseStream.MoveNext(timeout.Token))
        {
            received += call.ResponseStream.Current.Lines.Count;
        }

        var seconds = clock.Elapsed.TotalSeconds;
        return received >= lines ? seconds : throw new InvalidOperationException($"GetTaskLogs ended after {received} of {lines} lines");
    }

    /// <returns>Seconds for <c>docker logs -f</c> to print <paramref name="lines"/> lines.</returns>
    private static async Task<double> DockerLogsAsync(string containerId, int lines)
    {
        var clock = Stopwatch.StartNew();
        using var process = StartDocker("logs", "-f", containerId);
        try
        {
            var received = 0;
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            while (received < lines && await process.StandardOutput.ReadLineAsync(timeout.Token) is not null)
            {
                received++;
            }

            var seconds = clock.Elapsed.TotalSeconds;
            return received >= lines ? seconds : throw new InvalidOperationException($"docker logs -f ended after {received} of {lines} lines");
        }
        finally
        {
            process.Kill();
        }
    }

    private static async Task<List<double>> SchedulerLatencyAsync(TaskService.TaskServiceClient tasks, string taskId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        using var call = tasks.GetTaskLogs(new GetTaskLogsRequest { Task = taskId, Follow = true, Timestamps = true, Tail = 0 }, cancellationToken: timeout.Token);
        var latencies = new List<double>();
        while (latencies.Count < LatencyLines && await call.ResponseStream.MoveNext(timeout.Token))
        {
            var now = DateTime.UtcNow;
            latencies.AddRange(call.ResponseStream.Current.Lines.Select(line => (now - line.Time.ToDateTime()).TotalMilliseconds));
        }

        latencies.Sort();
        return latencies;
    }

    private static async Task<List<double>> DockerLatencyAsync(string containerId)
    {
        using var process = StartDocker("logs", "-f", "--timestamps", "--tail", "0", containerId);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            var latencies = new List<double>();
            while (latencies.Count < LatencyLines && await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                var now = DateTime.UtcNow;
                var stamp = DateTime.Parse(line[..line.IndexOf(' ', StringComparison.Ordinal)], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
                latencies.Add((now - stamp).TotalMilliseconds);
            }

            latencies.Sort();
            return latencies;
        }
        finally
        {
            process.Kill();
        }
    }

    private static Process StartDocker(params string[] arguments)
    {
        var info = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return Process.Start(info)!;
    }

    /// <summary>Waits until the container's log holds <paramref name="lines"/> lines (bounded: two minutes).</summary>
    private static async Task WrittenAsync(string containerId, int lines)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (await CountLinesAsync(containerId) < lines)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"the container did not write {lines} lines within two minutes");
            }

            await Task.Delay(500);
        }
    }

    private static async Task<int> CountLinesAsync(string containerId)
    {
        using var process = StartDocker("logs", containerId);
        var count = 0;
        while (await process.StandardOutput.ReadLineAsync() is not null)
        {
            count++;
        }

        await process.WaitForExitAsync();
        return count;
    }

    private static async Task<Contracts.V1.Task> RunAndWaitAsync(TaskService.TaskServiceClient tasks, string family)
    {
        var taskId = (await tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = family })).Tasks.Single().TaskId;
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            var task = (await tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { taskId } })).Tasks.Single();
            if (task.LastStatus == TaskStatus.Running)
            {
                return task;
            }

            if (task.LastStatus == TaskStatus.Stopped || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"task {taskId} of {family} did not run: {task.LastStatus} {task.StoppedReason}");
            }

            await Task.Delay(100);
        }
    }

    private static async Task RemoveAsync(DockerClient docker, string node)
    {
        var filter = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"orchestrator.node={node}"] = true } };
        foreach (var container in await docker.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = filter }))
        {
            await docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true });
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
