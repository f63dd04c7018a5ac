using System.Diagnostics;
using Docker.DotNet;
using Docker.DotNet.Models;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using MountPoint = Orchestrator.Contracts.V1.MountPoint;
using Secret = Orchestrator.Contracts.V1.Secret;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Benchmarks;

/// <summary>
/// Issue 13's measurement: RunTask → RUNNING of a task of three containers with a task volume, a shared
/// volume, secrets (a variable and a file) and dependsOn START, against the same work done straight
/// through Docker.DotNet in the same run (the volume, the secret files, three creates, three starts in
/// dependency order). Target: at most 1.2× the plain figure.
/// </summary>
internal static class WorkloadBench
{
    private const string Image = "orchestrator-test/busybox:latest";
    private const int Runs = 12;
    private const int WarmUp = 2;

    public static async Task RunAsync(Report report)
    {
        var directory = Directory.CreateTempSubdirectory("orchestrator-workload-bench-").FullName;
        var node = $"bench-{Guid.NewGuid():N}"[..14];
        var shared = $"{node}-shared";
        using var docker = new DockerClientConfiguration(new Uri("unix:///var/run/docker.sock")).CreateClient();
        using var scheduler = new BenchScheduler(directory, secure: true);
        await scheduler.ServingAsync();
        using var agent = DaemonProcess.Start("orchestrator-agent.dll",
        [
            .. scheduler.AgentArguments(node, Path.Combine(directory, "agent")), "--Agent:HostIp=127.0.0.1",
            "--Agent:CpuOverride=200000", "--Agent:MemoryOverride=200000", "--Logging:LogLevel:Default=Warning",
            $"--Agent:SecretsDirectory={Path.Combine(directory, "secrets")}",
        ]);
        try
        {
            await scheduler.AgentConnectedAsync(agent);
            await new SecretService.SecretServiceClient(scheduler.Channel).PutSecretAsync(new PutSecretRequest { Name = "bench-password", StringValue = "correct horse battery staple" });
            await new TaskDefinitionService.TaskDefinitionServiceClient(scheduler.Channel).RegisterTaskDefinitionAsync(Definition(shared));
            var tasks = new TaskService.TaskServiceClient(scheduler.Channel);

            var orchestrated = new List<double>();
            var plain = new List<double>();
            for (var i = 0; i < Runs; i++)
            {
                orchestrated.Add((await RunAndWaitAsync(tasks)).TotalMilliseconds);
                plain.Add((await PlainAsync(docker, $"{node}-plain-{i}", shared, Path.Combine(directory, "plain", i.ToString(System.Globalization.CultureInfo.InvariantCulture)))).TotalMilliseconds);
            }

            var ours = Median(orchestrated.Skip(WarmUp));
            var baseline = Median(plain.Skip(WarmUp));
            report.Add("agent", $"a task of 3 containers with a task and a shared volume, secrets (variable and file), dependsOn START: RunTask → RUNNING (median of {Runs - WarmUp})",
                $"{ours:F0} ms",
                $"plain Docker.DotNet, volume + secret files + 3 creates + 3 starts in order: {baseline:F0} ms ({ours / baseline:F2}×, target ≤ 1.2×)");
        }
        finally
        {
            agent.Dispose();
            await RemoveAsync(docker, node, shared);
            Directory.Delete(directory, recursive: true);
        }
    }

    private static RegisterTaskDefinitionRequest Definition(string shared)
    {
        ContainerDefinition Container(string name) => new()
        {
            Name = name,
            Image = Image,
            Command = { "sleep", "3600" },
            Memory = 16,
            StopTimeoutSeconds = 1,
            MountPoints = { new MountPoint { SourceVolume = "data", ContainerPath = "/data" } },
            Secrets =
            {
                new Secret { Name = "PASSWORD", ValueFrom = "bench-password" },
                new Secret { Name = "password", ValueFrom = "bench-password", AsFile = true },
            },
        };

        var db = Container("db");
        var app = Container("app");
        app.MountPoints.Add(new MountPoint { SourceVolume = shared, ContainerPath = "/shared" });
        app.DependsOn.Add(new ContainerDependency { ContainerName = "db", Condition = "START" });
        var sidecar = Container("sidecar");
        sidecar.DependsOn.Add(new ContainerDependency { ContainerName = "app", Condition = "START" });
        return new RegisterTaskDefinitionRequest
        {
            Family = "workload",
            Volumes =
            {
                new Volume { Name = "data" },
                new Volume { Name = shared, DockerVolumeConfiguration = new DockerVolumeConfiguration { Scope = "shared", Autoprovision = true } },
            },
            ContainerDefinitions = { db, app, sidecar },
        };
    }

    private static async Task<TimeSpan> RunAndWaitAsync(TaskService.TaskServiceClient tasks)
    {
        using var watch = tasks.WatchTasks(new WatchTasksRequest());
        await Task.Delay(100); // let the watch subscribe
        var clock = Stopwatch.StartNew();
        var taskId = (await tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "workload" })).Tasks.Single().TaskId;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (await watch.ResponseStream.MoveNext(timeout.Token))
        {
            var task = watch.ResponseStream.Current.Task;
            if (task.TaskId != taskId)
            {
                continue;
            }

            switch (task.LastStatus)
            {
                case TaskStatus.Running:
                    return clock.Elapsed;
                case TaskStatus.Stopped:
                    throw new InvalidOperationException($"task {taskId} stopped: {task.StoppedReason}");
            }
        }

        throw new InvalidOperationException($"task {taskId} did not run within 2 minutes");
    }

    /// <summary>What the agent does for one such task, straight through Docker.DotNet: the same volumes, files, containers and order.</summary>
    private static async Task<TimeSpan> PlainAsync(DockerClient docker, string prefix, string shared, string secrets)
    {
        var clock = Stopwatch.StartNew();
        var volume = $"{prefix}-data";
        await docker.Volumes.CreateAsync(new VolumesCreateParameters { Name = volume, Driver = "local", Labels = new Dictionary<string, string> { ["orchestrator-bench"] = "plain" } });
        await docker.Volumes.InspectAsync(shared);
        var ids = new List<string>();
        foreach (var name in new[] { "db", "app", "sidecar" })
        {
            var files = Path.Combine(secrets, name);
            Directory.CreateDirectory(files);
            await File.WriteAllTextAsync(Path.Combine(files, "password"), "correct horse battery staple");
            var mounts = new List<Mount>
            {
                new() { Type = "volume", Source = volume, Target = "/data" },
                new() { Type = "bind", Source = files, Target = "/run/secrets", ReadOnly = true },
            };
            if (name == "app")
            {
                mounts.Add(new Mount { Type = "volume", Source = shared, Target = "/shared" });
            }

            var created = await docker.Containers.CreateContainerAsync(new CreateContainerParameters
            {
                Name = $"{prefix}-{name}",
                Image = Image,
                Cmd = ["sleep", "3600"],
                Env = ["PASSWORD=correct horse battery staple"],
                Labels = new Dictionary<string, string> { ["orchestrator-bench"] = "plain" },
                HostConfig = new HostConfig
                {
                    Memory = 16L << 20,
                    MemorySwap = 16L << 20,
                    Init = true,
                    Mounts = mounts,
                    LogConfig = new LogConfig { Type = "local", Config = new Dictionary<string, string> { ["max-size"] = "10m", ["max-file"] = "3" } },
                },
            });
            ids.Add(created.ID);
        }

        foreach (var id in ids)
        {
            await docker.Containers.StartContainerAsync(id, new ContainerStartParameters());
        }

        return clock.Elapsed;
    }

    /// <summary>Every container and volume of the agent's node and of the plain runs, and the shared volume.</summary>
    private static async Task RemoveAsync(DockerClient docker, string node, string shared)
    {
        foreach (var label in new[] { $"orchestrator.node={node}", "orchestrator-bench=plain" })
        {
            var filter = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [label] = true } };
            foreach (var container in await docker.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = filter }))
            {
                await docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true });
            }

            foreach (var volume in (await docker.Volumes.ListAsync(new VolumesListParameters { Filters = filter })).Volumes ?? [])
            {
                await docker.Volumes.RemoveAsync(volume.Name, force: true);
            }
        }

        await docker.Volumes.RemoveAsync(shared, force: true);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
