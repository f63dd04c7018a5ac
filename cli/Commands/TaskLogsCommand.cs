using System.CommandLine;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using static Orchestrator.Cli.CommandExtensions;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// orchestrator task logs (TaskService.GetTaskLogs): a container's stdout lines to stdout and its
/// stderr lines to stderr, as docker logs does, so that redirections keep them apart. Logs are text
/// whatever stdout is; only an explicit -o json prints the API's answers (one JSON object per line).
/// </summary>
internal static class TaskLogsCommand
{
    public static Command Create(CliContext context, GlobalOptions options)
    {
        var task = new Argument<string?>("TASK") { Arity = ArgumentArity.ZeroOrOne, Description = "The task id" };
        var container = new Option<string?>("--container") { Description = "The container [default: the only one, else the first essential one]" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing lines as they are written, until Ctrl-C" };
        var tail = new Option<int?>("--tail") { Description = "Only the last N lines (before following)" };
        var since = new Option<string?>("--since") { Description = "Only lines from this time on: RFC 3339 or a duration back from now (10m)" };
        var timestamps = new Option<bool>("--timestamps") { Description = "Prefix each line with the time the engine received it" };
        return Verb("logs", "Prints a task's container output (of a running task, or a stopped one whose containers are still kept)",
                "orchestrator task logs 3f2c9d0e --tail 100 -f", "orchestrator task logs 3f2c9d0e --container sidecar --since 10m --timestamps")
            .With(task, options.Cluster, container, follow, tail, since, timestamps, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<GetTaskLogsRequest>();
                run.Set(task, t => request.Task = t);
                run.SetCluster(c => request.Cluster = c);
                run.Set(container, c => request.Container = c);
                run.Set(follow, f => request.Follow = f);
                run.Set(tail, t => request.Tail = t);
                run.Set(since, s => request.Since = TimeArgument.Parse(s, "--since"));
                run.Set(timestamps, t => request.Timestamps = t);
                var json = run.Value(options.Output) == "json";
                using var call = run.Tasks.GetTaskLogs(request, cancellationToken: run.Cancel);
                while (await call.ResponseStream.MoveNext(run.Cancel))
                {
                    var response = call.ResponseStream.Current;
                    if (json)
                    {
                        run.Printer.MessageLine(response);
                        continue;
                    }

                    foreach (var line in response.Lines)
                    {
                        var writer = line.Stream == LogStream.Stderr ? context.Error : context.Out;
                        writer.WriteLine(line.Time is { } time ? $"{time.ToDateTime():yyyy-MM-ddTHH:mm:ss.fffffffZ} {line.Text}" : line.Text);
                    }

                    context.Out.Flush();
                    context.Error.Flush();
                }

                return ExitCodes.Ok;
            });
    }
}
