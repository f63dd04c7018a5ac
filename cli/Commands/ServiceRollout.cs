using System.Threading.Channels;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// --wait of service create/update and service deploy: follows the service's primary deployment until
/// it completes (exit 0), cannot place its tasks (exit 2, with the UNABLE_TO_PLACE reasons) or fails
/// (exit 1, with the reason), as `nomad job run` does. It reacts to what happens rather than polling:
/// the service's cluster events (from the deployment's start, so none is missed between the update
/// and the watch) and its task changes (running counts move without a cluster event) each make it
/// look at the deployment again.
/// </summary>
internal sealed class ServiceRollout(Invocation run, string cluster, string name)
{
    private string _lastProgress = "";

    private TextWriter Progress => run.Printer.Json ? run.Context.Error : run.Context.Out;

    public async Task<int> FollowAsync(Service started)
    {
        var deployment = started.Deployments.FirstOrDefault(d => d.Status == "PRIMARY")
            ?? throw new CliException($"service {name}: the answer has no PRIMARY deployment to wait for");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(run.Cancel);
        var changes = Channel.CreateUnbounded<ClusterEvent?>();
        var since = Latest(deployment.CreatedAt, deployment.UpdatedAt);
        var events = run.Events.WatchEvents(new WatchEventsRequest { Cluster = cluster, Service = name, Since = since }, cancellationToken: stop.Token);
        var tasks = run.Tasks.WatchTasks(new WatchTasksRequest { Cluster = cluster, Service = name }, cancellationToken: stop.Token);
        var pumps = Task.WhenAll(
            PumpAsync(events.ResponseStream, e => e, changes.Writer, stop.Token),
            PumpAsync(tasks.ResponseStream, _ => (ClusterEvent?)null, changes.Writer, stop.Token));
        _ = pumps.ContinueWith(t => changes.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);
        try
        {
            Progress.WriteLine($"service {name}: following deployment {deployment.Id} of {deployment.TaskDefinition}");
            if (await VerdictAsync(deployment.Id) is { } early)
            {
                return early;
            }

            await foreach (var change in changes.Reader.ReadAllAsync(run.Cancel))
            {
                if (change is not null && Told(change, deployment.Id) is { } told)
                {
                    return told;
                }

                if (await VerdictAsync(deployment.Id) is { } verdict)
                {
                    return verdict;
                }
            }

            throw new CliException($"service {name}: the watch ended before the deployment did");
        }
        finally
        {
            await stop.CancelAsync();
            events.Dispose();
            tasks.Dispose();
        }
    }

    /// <summary>Prints an event; an UNABLE_TO_PLACE of this deployment ends the wait with exit 2.</summary>
    private int? Told(ClusterEvent e, string deploymentId)
    {
        Progress.WriteLine($"{e.Time?.ToDateTimeOffset():u}  {EventCommands.TypeName(e.Type)}  {e.Message}");
        if (e.Type != EventType.UnableToPlace || (e.Deployment.Length > 0 && e.Deployment != deploymentId))
        {
            return null;
        }

        run.Error($"service {name}: deployment {deploymentId} cannot place its tasks");
        foreach (var reason in e.Reasons)
        {
            run.Error($"  {reason}");
        }

        return ExitCodes.CannotPlace;
    }

    /// <summary>The deployment as the scheduler has it now: null while it is still rolling out.</summary>
    private async Task<int?> VerdictAsync(string deploymentId)
    {
        var described = await run.Services.DescribeServicesAsync(new DescribeServicesRequest { Cluster = cluster, Services = { name } }, cancellationToken: run.Cancel);
        var service = described.Services.FirstOrDefault()
            ?? throw new CliException($"service {name}: gone while its deployment was followed");
        var deployment = service.Deployments.FirstOrDefault(d => d.Id == deploymentId);
        if (deployment is null)
        {
            run.Error($"service {name}: deployment {deploymentId} was replaced before it completed");
            return ExitCodes.Failure;
        }

        var progress = $"service {name}: deployment {deploymentId}: {deployment.RunningCount}/{deployment.DesiredCount} running, {deployment.PendingCount} pending, {deployment.FailedTasks} failed ({deployment.RolloutState})";
        if (progress != _lastProgress)
        {
            Progress.WriteLine(progress);
            _lastProgress = progress;
        }

        if (deployment.RolloutState == "FAILED")
        {
            run.Error($"service {name}: deployment {deploymentId} failed: {deployment.RolloutStateReason}");
            return ExitCodes.Failure;
        }

        // Completed, and the old deployments' tasks are gone (the service runs only this revision).
        if (deployment.RolloutState == "COMPLETED" && deployment.RunningCount >= deployment.DesiredCount && service.Deployments.Count == 1)
        {
            Progress.WriteLine($"service {name}: deployment {deploymentId} completed");
            return ExitCodes.Ok;
        }

        return null;
    }

    private static async Task PumpAsync<T>(IAsyncStreamReader<T> stream, Func<T, ClusterEvent?> change, ChannelWriter<ClusterEvent?> writer, CancellationToken cancel)
    {
        while (await stream.MoveNext(cancel))
        {
            await writer.WriteAsync(change(stream.Current), cancel);
        }
    }

    private static Timestamp? Latest(Timestamp? a, Timestamp? b) => a is null ? b : b is null ? a : a.CompareTo(b) >= 0 ? a : b;
}
