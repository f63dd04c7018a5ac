using System.CommandLine;
using System.Text;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using static Orchestrator.Cli.CommandExtensions;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// orchestrator events (EventService): the stored events (ListEvents), or with --follow the stored ones
/// from --since on and then live ones as they happen (WatchEvents). Followed events are one line each:
/// a JSON object per line with json output, so `| jq` works on a stream.
/// </summary>
internal static class EventCommands
{
    public static readonly string[] Columns = ["sequence", "time", "type", "node", "service", "task", "message", "reasons"];

    public static Command Create(CliContext context, GlobalOptions options)
    {
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing events as they happen (WatchEvents), until Ctrl-C" };
        var since = new Option<string?>("--since") { Description = "From this time on: RFC 3339 or a duration back from now (10m, 2h)" };
        var sinceSequence = new Option<long?>("--since-sequence") { Description = "With --follow: after this sequence (resume a watch)" };
        var types = new Option<string[]>("--type") { Description = "Only these types, e.g. UNABLE_TO_PLACE, deployment-failed (repeatable)", HelpName = "TYPE" };
        var node = new Option<string?>("--node") { Description = "Only events about this node" };
        var service = new Option<string?>("--service") { Description = "Only events about this service" };
        var max = Shared.MaxResults();
        var next = Shared.NextToken();
        return Verb("events", "Cluster events: nodes joining and leaving, deployments, unable to place, tasks stopped",
                "orchestrator events --since 1h --type unable-to-place", "orchestrator events --follow --service web")
            .With(options.Cluster, follow, since, sinceSequence, types, node, service, max, next)
            .Runs(context, options, async run =>
            {
                var eventTypes = (run.Value(types) ?? []).Select(ParseType).ToList();
                if (!run.Value(follow))
                {
                    var request = new ListEventsRequest { EventTypes = { eventTypes } };
                    run.SetCluster(c => request.Cluster = c);
                    run.Set(node, n => request.Node = n);
                    run.Set(service, s => request.Service = s);
                    run.Set(since, s => request.StartTime = TimeArgument.Parse(s, "--since"));
                    run.Set(max, m => request.MaxResults = m);
                    run.Set(next, n => request.NextToken = n);
                    var response = await run.Events.ListEventsAsync(request, cancellationToken: run.Cancel);
                    var code = Shared.Show(run, response, response.Events, Columns);
                    Shared.MorePages(run, response.NextToken);
                    return code;
                }

                var watch = new WatchEventsRequest { EventTypes = { eventTypes } };
                run.SetCluster(c => watch.Cluster = c);
                run.Set(node, n => watch.Node = n);
                run.Set(service, s => watch.Service = s);
                run.Set(since, s => watch.Since = TimeArgument.Parse(s, "--since"));
                if (run.Value(sinceSequence) is { } sequence)
                {
                    watch.SinceSequence = sequence;
                }

                using var call = run.Events.WatchEvents(watch, cancellationToken: run.Cancel);
                while (await call.ResponseStream.MoveNext(run.Cancel))
                {
                    Print(run, call.ResponseStream.Current);
                }

                return ExitCodes.Ok;
            });
    }

    /// <summary>One event as one line: JSON with json output, else time, type and message.</summary>
    public static void Print(Invocation run, ClusterEvent e)
    {
        if (run.Printer.Json)
        {
            run.Printer.MessageLine(e);
            return;
        }

        var line = $"{e.Time?.ToDateTimeOffset():yyyy-MM-ddTHH:mm:ssZ}  {e.Sequence}  {TypeName(e.Type)}  {e.Message}";
        run.Printer.Line(e.Reasons.Count == 0 ? line : $"{line}: {string.Join("; ", e.Reasons)}");
        run.Context.Out.Flush();
    }

    private static readonly Google.Protobuf.Reflection.EnumDescriptor EventTypes = ClusterEvent.Descriptor.FindFieldByNumber(ClusterEvent.TypeFieldNumber).EnumType;

    /// <summary>The type as its proto name without the prefix (UNABLE_TO_PLACE), as people write it.</summary>
    public static string TypeName(EventType type)
    {
        var name = EventTypes.FindValueByNumber((int)type)?.Name ?? type.ToString();
        return name.StartsWith("EVENT_TYPE_", StringComparison.Ordinal) ? name["EVENT_TYPE_".Length..] : name;
    }

    private static EventType ParseType(string text)
    {
        var wanted = new StringBuilder("EVENT_TYPE_").Append(text.ToUpperInvariant().Replace('-', '_')).ToString();
        if (text.StartsWith("EVENT_TYPE_", StringComparison.OrdinalIgnoreCase))
        {
            wanted = text.ToUpperInvariant();
        }

        var value = EventTypes.FindValueByName(wanted);
        return value is null || value.Number == 0
            ? throw new CliException($"--type: \"{text}\" is not an event type ({string.Join(", ", EventTypes.Values.Skip(1).Select(v => TypeName((EventType)v.Number)))})")
            : (EventType)value.Number;
    }
}
