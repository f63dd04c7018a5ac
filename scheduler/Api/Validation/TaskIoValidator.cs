using Google.Protobuf.WellKnownTypes;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>A GetTaskLogs request, checked: what the agent is asked to read, and of which task.</summary>
/// <param name="Container">As asked; empty for the task's default container (see <see cref="ContainerChoice"/>).</param>
internal sealed record LogsQuery(string Cluster, string TaskId, string Container, Contract.TaskLogsSession Session);

/// <summary>An ExecuteCommand's start, checked.</summary>
internal sealed record ExecQuery(string Cluster, string TaskId, string Container, Contract.ExecSession Session);

/// <summary>
/// Checks GetTaskLogs requests and ExecuteCommand's first message before anything is looked up. Each
/// refusal names its field, as the request spells it (ExecuteCommand's under "start.").
/// </summary>
internal static class TaskIoValidator
{
    /// <summary>Terminal sizes beyond this are typing slips, not terminals (the kernel's winsize is 16 bits).</summary>
    public const int MaxTerminalSide = ushort.MaxValue;

    /// <param name="now">The scheduler's clock: a <c>since</c> after it is refused.</param>
    public static LogsQuery Logs(Contract.GetTaskLogsRequest request, DateTimeOffset now)
    {
        var cluster = Names.Cluster(request.Cluster);
        var task = TaskIds.Require(request.Task, "task");
        var container = Container(request.Container, "container");
        if (request.HasTail && request.Tail < 0)
        {
            throw RequestException.Invalid("tail", $"must be 0 or more, not {request.Tail}");
        }

        if (request.Since is { } since)
        {
            var at = Time(since, "since");
            if (at > now)
            {
                throw RequestException.Invalid("since", $"{at:O} is in the future (now is {now:O})");
            }
        }

        var session = new Contract.TaskLogsSession { Follow = request.Follow, Since = request.Since, Timestamps = request.Timestamps };
        if (request.HasTail)
        {
            session.Tail = request.Tail;
        }

        return new LogsQuery(cluster, task, container, session);
    }

    /// <summary>The first message of an ExecuteCommand stream, which must be <c>start</c>.</summary>
    public static ExecQuery Exec(Contract.ExecuteCommandRequest? first)
    {
        if (first is null)
        {
            throw RequestException.Invalid("start", "the stream ended before its first message, which must be start");
        }

        if (first.BodyCase != Contract.ExecuteCommandRequest.BodyOneofCase.Start)
        {
            throw RequestException.Invalid("start", $"the first message must be start, not {Body(first.BodyCase)}");
        }

        var start = first.Start;
        var cluster = Names.Cluster(start.Cluster, "start.cluster");
        var task = TaskIds.Require(start.Task, "start.task");
        var container = Container(start.Container, "start.container");
        if (start.Command.Count == 0)
        {
            throw RequestException.Invalid("start.command", "is required: the program and its arguments, e.g. [\"sh\", \"-c\", \"...\"]");
        }

        Limits.Count(start.Command, Limits.MaxArguments, "start.command");
        if (start.Command[0].Length == 0)
        {
            throw RequestException.Invalid("start.command[0]", "the program to run must not be empty");
        }

        for (var i = 0; i < start.Command.Count; i++)
        {
            // Lengths only: the arguments are never echoed, they may carry secrets.
            Names.Text(start.Command[i], $"start.command[{i}]", Limits.MaxStringLength);
        }

        if (start.Size is { } size)
        {
            if (!start.Tty)
            {
                throw RequestException.Invalid("start.size", "is for a terminal: set tty too, or leave size out");
            }

            Size(size, "start.size");
        }

        var session = new Contract.ExecSession { Tty = start.Tty, Interactive = start.Interactive, Size = start.Size };
        session.Command.AddRange(start.Command);
        return new ExecQuery(cluster, task, container, session);
    }

    /// <summary>
    /// A message after start, to forward to the agent: standard input only when the command takes it,
    /// size changes only with a terminal, and no second start.
    /// </summary>
    public static void Input(Contract.ExecuteCommandRequest message, Contract.ExecSession session)
    {
        switch (message.BodyCase)
        {
            case Contract.ExecuteCommandRequest.BodyOneofCase.Stdin or Contract.ExecuteCommandRequest.BodyOneofCase.CloseStdin when !session.Interactive:
                throw RequestException.Invalid(Body(message.BodyCase), "the command was started without interactive: it takes no standard input");
            case Contract.ExecuteCommandRequest.BodyOneofCase.Stdin or Contract.ExecuteCommandRequest.BodyOneofCase.CloseStdin:
                return;
            case Contract.ExecuteCommandRequest.BodyOneofCase.Resize when !session.Tty:
                throw RequestException.Invalid("resize", "the command was started without tty: it has no terminal to resize");
            case Contract.ExecuteCommandRequest.BodyOneofCase.Resize:
                Size(message.Resize, "resize");
                return;
            case Contract.ExecuteCommandRequest.BodyOneofCase.Start:
                throw RequestException.Invalid("start", "only the first message may be start");
            default:
                throw RequestException.Invalid("body", "empty or unknown message: send stdin, resize or closeStdin");
        }
    }

    private static string Container(string value, string field) => Names.Text(value, field, Names.MaxLength);

    private static void Size(Contract.TerminalSize size, string field)
    {
        if (size.Rows is 0 or > MaxTerminalSide || size.Columns is 0 or > MaxTerminalSide)
        {
            throw RequestException.Invalid(field, $"rows and columns must be between 1 and {MaxTerminalSide}, not {size.Rows} x {size.Columns}");
        }
    }

    private static DateTimeOffset Time(Timestamp value, string field)
    {
        // Timestamp's own range (years 1 to 9999, nanos below a second); ToDateTimeOffset throws outside it.
        if (value.Seconds is < -62135596800L or > 253402300799L || value.Nanos is < 0 or > 999_999_999)
        {
            throw RequestException.Invalid(field, "is not a valid timestamp");
        }

        return value.ToDateTimeOffset();
    }

    /// <summary>The field as the JSON of the API names it (closeStdin).</summary>
    private static string Body(Contract.ExecuteCommandRequest.BodyOneofCase body) => body switch
    {
        Contract.ExecuteCommandRequest.BodyOneofCase.Start => "start",
        Contract.ExecuteCommandRequest.BodyOneofCase.Stdin => "stdin",
        Contract.ExecuteCommandRequest.BodyOneofCase.Resize => "resize",
        Contract.ExecuteCommandRequest.BodyOneofCase.CloseStdin => "closeStdin",
        _ => "an empty message",
    };
}
