using System.CommandLine;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;
using static Orchestrator.Cli.CommandExtensions;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// orchestrator watch: task changes (TaskService.WatchTasks) and service and node events
/// (EventService.WatchEvents) as they happen, in one stream of lines, until Ctrl-C. With json output each
/// line is {"task": TaskEvent} or {"event": ClusterEvent}.
/// </summary>
internal static class WatchCommand
{
    public static Command Create(CliContext context, GlobalOptions options)
    {
        var service = new Option<string?>("--service") { Description = "Only this service's tasks and events" };
        var existing = new Option<bool>("--existing") { Description = "First print every matching task as it is now" };
        var since = new Option<string?>("--since") { Description = "First print the events from this time on: RFC 3339 or a duration back from now (10m)" };
        return Verb("watch", "Task and service changes as they happen (Ctrl-C ends it)", "orchestrator watch --service web", "orchestrator watch --existing --since 10m")
            .With(options.Cluster, service, existing, since)
            .Runs(context, options, async run =>
            {
                var cluster = run.Cluster ?? "";
                var name = run.Value(service) ?? "";
                var gate = new SemaphoreSlim(1, 1);
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(run.Cancel);
                using var tasks = run.Tasks.WatchTasks(new WatchTasksRequest { Cluster = cluster, Service = name, IncludeExisting = run.Value(existing) }, cancellationToken: stop.Token);
                var watchEvents = new WatchEventsRequest { Cluster = cluster, Service = name };
                run.Set(since, s => watchEvents.Since = TimeArgument.Parse(s, "--since"));
                using var events = run.Events.WatchEvents(watchEvents, cancellationToken: stop.Token);

                async Task Pump<T>(Grpc.Core.IAsyncStreamReader<T> stream, Action<T> print)
                {
                    while (await stream.MoveNext(stop.Token))
                    {
                        await gate.WaitAsync(stop.Token);
                        try
                        {
                            print(stream.Current);
                            run.Context.Out.Flush();
                        }
                        finally
                        {
                            gate.Release();
                        }
                    }
                }

                var pumps = new[] { Pump(tasks.ResponseStream, e => PrintTask(run, e)), Pump(events.ResponseStream, e => PrintEvent(run, e)) };

                // The first stream to end (an error, or the server going) ends the watch.
                var first = await Task.WhenAny(pumps);
                await stop.CancelAsync();
                await first;
                return ExitCodes.Ok;
            });
    }

    private static void PrintTask(Invocation run, TaskEvent e)
    {
        if (run.Printer.Json)
        {
            run.Printer.Line($"{{\"task\":{Output.JsonView.Format(e, indented: false)}}}");
            return;
        }

        var task = e.Task;
        var status = Contracts.V1.Task.Descriptor.FindFieldByNumber(Contracts.V1.Task.LastStatusFieldNumber).EnumType.FindValueByNumber((int)task.LastStatus)?.Name.Replace("TASK_STATUS_", "", StringComparison.Ordinal);
        var stopped = task.StoppedReason.Length > 0 ? $" ({task.StoppedReason})" : "";
        run.Printer.Line($"task     {task.TaskId}  {task.TaskDefinitionArn}  {status}  node={Dash(task.Node)}  service={Dash(task.Service)}{stopped}");
    }

    private static void PrintEvent(Invocation run, ClusterEvent e)
    {
        if (run.Printer.Json)
        {
            run.Printer.Line($"{{\"event\":{Output.JsonView.Format(e, indented: false)}}}");
            return;
        }

        var reasons = e.Reasons.Count == 0 ? "" : $": {string.Join("; ", e.Reasons)}";
        run.Printer.Line($"event    {EventCommands.TypeName(e.Type)}  {e.Message}{reasons}");
    }

    private static string Dash(string value) => value.Length == 0 ? "-" : value;
}
