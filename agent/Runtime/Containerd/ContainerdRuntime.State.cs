using System.Collections.Concurrent;
using System.Globalization;
using Grpc.Core;
using Orchestrator.Agent.Runtime.Logs;
using ContainerRecord = Containerd.Services.Containers.V1.Container;
using Process = Containerd.V1.Types.Process;
using Status = Containerd.V1.Types.Status;

namespace Orchestrator.Agent.Runtime.Containerd;

/// <summary>Inspect and list: a container as containerd knows it (container, task, labels), in Docker's terms.</summary>
internal sealed partial class ContainerdRuntime
{
    /// <summary>Labels by container id, for events (which carry none); filled on a miss, so a restarted agent has them too.</summary>
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, string>> _labels = new(StringComparer.Ordinal);

    public async Task<ContainerInfo?> InspectAsync(string id, CancellationToken cancellation)
    {
        var container = await GetContainerAsync(id, cancellation);
        if (container is null)
        {
            return null;
        }

        var task = await GetProcessAsync(id, "", cancellation);
        return await ToInfoAsync(container, task, cancellation);
    }

    public async Task<IReadOnlyList<ContainerInfo>> ListAsync(string labelKey, string labelValue, CancellationToken cancellation)
    {
        var request = new global::Containerd.Services.Containers.V1.ListContainersRequest();
        request.Filters.Add(RuntimeLabels.Filter(labelKey, labelValue));
        var listed = await CallAsync(async () => await _clients.Containers.ListAsync(request, cancellationToken: cancellation));

        var result = new List<ContainerInfo>(listed.Containers.Count);
        foreach (var container in listed.Containers)
        {
            var task = await GetProcessAsync(container.Id, "", cancellation);
            var info = await ToInfoAsync(container, task, cancellation);
            result.Add(info);

            // An agent restarted over running containers (the agent lists its containers first thing):
            // their logs are kept under their size again. Watching one watched already changes nothing.
            if (info.Running && LogLimitsOf(container.Labels) is { } limits)
            {
                _logs.Watch(container.Id, ContainerLogFile.PathOf(LogsDirectory, container.Id), limits.MaxBytes, limits.MaxFiles);
            }
        }

        return result;
    }

    private async Task<ContainerInfo> ToInfoAsync(ContainerRecord container, Process? task, CancellationToken cancellation)
    {
        var labels = new Dictionary<string, string>(container.Labels);
        _labels[container.Id] = labels;
        var running = task is { Status: Status.Running or Status.Paused or Status.Pausing };
        var stopped = task is { Status: Status.Stopped };
        var oomKilled = labels.TryGetValue(RuntimeLabels.OomKilled, out var oom) && oom == "true";

        // The OOM event may not have been seen (no subscription then, or it trails the exit): the
        // cgroup's own count, kept until the task is deleted, says it too.
        if (stopped && !oomKilled && task!.ExitStatus == 137 && OomKillsIn(labels) > 0)
        {
            oomKilled = true;
            await SetLabelsAsync(container.Id, new Dictionary<string, string?> { [RuntimeLabels.OomKilled] = "true" }, cancellation);
            labels[RuntimeLabels.OomKilled] = "true";
        }

        var startLabel = labels.TryGetValue(RuntimeLabels.StartedAt, out var started)
            && DateTimeOffset.TryParse(started, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : (DateTimeOffset?)null;
        DateTimeOffset? startedAt = task is not null && task.Status != Status.Created ? startLabel : null;
        DateTimeOffset? finishedAt = stopped && task!.ExitedAt is { } exited && exited.Seconds > 0 ? exited.ToDateTimeOffset() : null;

        // Started once, and its task is gone without the agent deleting it: the host rebooted (containerd
        // keeps containers, not tasks) or its shim died. It ran and is over, as Docker reports a
        // container after a reboot (exited, 255); taking it for "created, never started" would have an
        // adopting agent start it again under a task the scheduler thinks has run all along.
        if (task is null && startLabel is not null)
        {
            return new ContainerInfo(container.Id, labels, false, 255, oomKilled, "its task is gone (the host restarted, or containerd's shim died)",
                ContainerHealth.None, RuntimeLabels.ParsePorts(labels), startLabel, null);
        }

        return new ContainerInfo(
            container.Id,
            labels,
            running,
            stopped ? (int)task!.ExitStatus : null,
            oomKilled,
            "",
            ContainerHealth.None,
            RuntimeLabels.ParsePorts(labels),
            startedAt,
            finishedAt);
    }

    /// <summary>Marks the container OOM-killed when its cgroup counted a kill; before its task (and so its cgroup) is deleted.</summary>
    private async Task RecordOomAsync(string id, IDictionary<string, string> labels, CancellationToken cancellation)
    {
        var given = new Dictionary<string, string>(labels);
        if (!(given.TryGetValue(RuntimeLabels.OomKilled, out var oom) && oom == "true") && OomKillsIn(given) > 0)
        {
            await SetLabelsAsync(id, new Dictionary<string, string?> { [RuntimeLabels.OomKilled] = "true" }, cancellation);
        }
    }

    /// <summary>
    /// The OOM kills counted in the container's memory cgroup: "oom_kill N" of memory.oom_control (v1)
    /// or memory.events (v2). 0 when the cgroup is gone or the kernel does not count them.
    /// </summary>
    private static long OomKillsIn(IReadOnlyDictionary<string, string> labels)
    {
        if (!labels.TryGetValue(RuntimeLabels.Cgroup, out var cgroup) || cgroup.Length == 0)
        {
            return 0;
        }

        var relative = cgroup.TrimStart('/');
        foreach (var file in (string[])[Path.Combine("/sys/fs/cgroup/memory", relative, "memory.oom_control"), Path.Combine("/sys/fs/cgroup", relative, "memory.events")])
        {
            try
            {
                if (File.Exists(file))
                {
                    return ParseOomKills(File.ReadAllText(file));
                }
            }
            catch (IOException)
            {
                // Removed while read.
            }
        }

        return 0;
    }

    /// <summary>The "oom_kill N" line of a cgroup's memory.oom_control or memory.events.</summary>
    internal static long ParseOomKills(string text)
    {
        foreach (var line in text.Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && parts[0] == "oom_kill" && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var count))
            {
                return count;
            }
        }

        return 0;
    }

    /// <summary>A container's labels for an event: the cache, else containerd; null when it is gone.</summary>
    private async Task<IReadOnlyDictionary<string, string>?> LabelsOfAsync(string id, CancellationToken cancellation)
    {
        if (_labels.TryGetValue(id, out var cached))
        {
            return cached;
        }

        try
        {
            var container = await GetContainerAsync(id, cancellation);
            if (container is null)
            {
                return null;
            }

            var labels = new Dictionary<string, string>(container.Labels);
            _labels[id] = labels;
            return labels;
        }
        catch (RpcException)
        {
            return null;
        }
    }
}
