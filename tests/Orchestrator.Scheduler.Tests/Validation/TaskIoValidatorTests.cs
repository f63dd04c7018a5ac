using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Tests.Validation;

/// <summary>GetTaskLogs requests and ExecuteCommand messages, checked before anything is looked up.</summary>
internal sealed class TaskIoValidatorTests
{
    private const string Id = "0123456789abcdef0123456789abcdef";
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);

    private static string Refusal(Action check) => Assert.Throws<RequestException>(() => check())!.Message;

    public static IEnumerable<TestCaseData> BadLogs()
    {
        yield return new TestCaseData(new GetTaskLogsRequest(), "task: task id is required").SetName("Logs without a task");
        yield return new TestCaseData(new GetTaskLogsRequest { Task = "ABC" }, "task: \"ABC\" is not a task id (32 lowercase hex digits)").SetName("Logs of a malformed task id");
        yield return new TestCaseData(new GetTaskLogsRequest { Cluster = "a b", Task = Id }, "cluster: \"a b\" is not a valid cluster name: use 1 to 255 letters, digits, hyphens and underscores").SetName("Logs in a malformed cluster");
        yield return new TestCaseData(new GetTaskLogsRequest { Task = Id, Tail = -3 }, "tail: must be 0 or more, not -3").SetName("Logs with a negative tail");
        yield return new TestCaseData(new GetTaskLogsRequest { Task = Id, Since = Timestamp.FromDateTimeOffset(Now.AddSeconds(1)) },
            "since: 2026-12-05T12:00:01.0000000+00:00 is in the future (now is 2026-12-05T12:00:00.0000000+00:00)").SetName("Logs since the future");
        yield return new TestCaseData(new GetTaskLogsRequest { Task = Id, Since = new Timestamp { Seconds = 253402300800L } }, "since: is not a valid timestamp").SetName("Logs since past year 9999");
        yield return new TestCaseData(new GetTaskLogsRequest { Task = Id, Container = new string('c', 256) }, "container: must be at most 255 characters, not 256").SetName("Logs of an overlong container name");
    }

    [TestCaseSource(nameof(BadLogs))]
    public void A_bad_logs_request_is_refused_naming_its_field(GetTaskLogsRequest request, string message) =>
        Assert.That(Refusal(() => TaskIoValidator.Logs(request, Now)), Is.EqualTo(message));

    [Test]
    public void A_good_logs_request_becomes_the_agents_session_as_asked()
    {
        var since = Timestamp.FromDateTimeOffset(Now);
        var query = TaskIoValidator.Logs(new GetTaskLogsRequest { Task = Id, Container = "app", Follow = true, Tail = 0, Since = since, Timestamps = true }, Now);
        var all = TaskIoValidator.Logs(new GetTaskLogsRequest { Task = Id }, Now);
        Assert.Multiple(() =>
        {
            Assert.That((query.Cluster, query.TaskId, query.Container), Is.EqualTo(("default", Id, "app")));
            Assert.That((query.Session.Follow, query.Session.HasTail, query.Session.Tail, query.Session.Since, query.Session.Timestamps), Is.EqualTo((true, true, 0, since, true)),
                "since may be now; tail 0 is kept apart from no tail");
            Assert.That((all.Session.HasTail, all.Session.Since, all.Container), Is.EqualTo((false, (Timestamp?)null, "")));
        });
    }

    private static ExecuteCommandRequest Start(Action<ExecStart> change)
    {
        var start = new ExecStart { Task = Id, Command = { "sh" } };
        change(start);
        return new ExecuteCommandRequest { Start = start };
    }

    public static IEnumerable<TestCaseData> BadStarts()
    {
        yield return new TestCaseData(null, "start: the stream ended before its first message, which must be start").SetName("Exec without a first message");
        yield return new TestCaseData(new ExecuteCommandRequest { Stdin = ByteString.CopyFromUtf8("x") }, "start: the first message must be start, not stdin").SetName("Exec starting with stdin");
        yield return new TestCaseData(new ExecuteCommandRequest(), "start: the first message must be start, not an empty message").SetName("Exec starting with an empty message");
        yield return new TestCaseData(Start(s => s.Task = ""), "start.task: task id is required").SetName("Exec without a task");
        yield return new TestCaseData(Start(s => s.Cluster = "?"), "start.cluster: \"?\" is not a valid cluster name: use 1 to 255 letters, digits, hyphens and underscores").SetName("Exec in a malformed cluster");
        yield return new TestCaseData(Start(s => s.Command.Clear()), "start.command: is required: the program and its arguments, e.g. [\"sh\", \"-c\", \"...\"]").SetName("Exec without a command");
        yield return new TestCaseData(Start(s => s.Command[0] = ""), "start.command[0]: the program to run must not be empty").SetName("Exec of an empty program");
        yield return new TestCaseData(Start(s => s.Command.AddRange(Enumerable.Repeat("a", Limits.MaxArguments))), $"start.command: at most {Limits.MaxArguments} allowed, got {Limits.MaxArguments + 1}").SetName("Exec of too many arguments");
        yield return new TestCaseData(Start(s => s.Command.Add(new string('x', Limits.MaxStringLength + 1))), $"start.command[1]: must be at most {Limits.MaxStringLength} characters, not {Limits.MaxStringLength + 1}").SetName("Exec of an overlong argument, not echoed");
        yield return new TestCaseData(Start(s => s.Size = new TerminalSize { Rows = 2, Columns = 2 }), "start.size: is for a terminal: set tty too, or leave size out").SetName("Exec with a size but no tty");
        yield return new TestCaseData(Start(s => { s.Tty = true; s.Size = new TerminalSize { Rows = 24 }; }), "start.size: rows and columns must be between 1 and 65535, not 24 x 0").SetName("Exec with a size of no columns");
    }

    [TestCaseSource(nameof(BadStarts))]
    public void A_bad_exec_start_is_refused_naming_its_field(ExecuteCommandRequest? first, string message) =>
        Assert.That(Refusal(() => TaskIoValidator.Exec(first)), Is.EqualTo(message));

    [Test]
    public void A_good_start_becomes_the_agents_session_with_its_arguments_as_given()
    {
        var query = TaskIoValidator.Exec(Start(s =>
        {
            s.Container = "app";
            s.Command.AddRange(["-c", "echo $X"]);
            s.Tty = true;
            s.Interactive = true;
            s.Size = new TerminalSize { Rows = 24, Columns = 80 };
        }));
        Assert.Multiple(() =>
        {
            Assert.That((query.Cluster, query.TaskId, query.Container), Is.EqualTo(("default", Id, "app")));
            Assert.That(query.Session.Command, Is.EqualTo(new[] { "sh", "-c", "echo $X" }));
            Assert.That((query.Session.Tty, query.Session.Interactive, query.Session.Size.Rows, query.Session.Size.Columns), Is.EqualTo((true, true, 24u, 80u)));
        });
    }

    [TestCase(true, true, "stdin", null)]
    [TestCase(true, true, "closeStdin", null)]
    [TestCase(true, true, "resize", null)]
    [TestCase(false, true, "stdin", "stdin: the command was started without interactive: it takes no standard input")]
    [TestCase(false, true, "closeStdin", "closeStdin: the command was started without interactive: it takes no standard input")]
    [TestCase(true, false, "resize", "resize: the command was started without tty: it has no terminal to resize")]
    [TestCase(true, true, "start", "start: only the first message may be start")]
    [TestCase(true, true, "none", "body: empty or unknown message: send stdin, resize or closeStdin")]
    public void Input_after_start_is_taken_only_when_the_command_can_take_it(bool interactive, bool tty, string body, string? refusal)
    {
        var message = body switch
        {
            "stdin" => new ExecuteCommandRequest { Stdin = ByteString.CopyFromUtf8("x") },
            "closeStdin" => new ExecuteCommandRequest { CloseStdin = true },
            "resize" => new ExecuteCommandRequest { Resize = new TerminalSize { Rows = 50, Columns = 200 } },
            "start" => Start(_ => { }),
            _ => new ExecuteCommandRequest(),
        };
        var session = new ExecSession { Interactive = interactive, Tty = tty };
        if (refusal is null)
        {
            Assert.DoesNotThrow(() => TaskIoValidator.Input(message, session));
        }
        else
        {
            Assert.That(Refusal(() => TaskIoValidator.Input(message, session)), Is.EqualTo(refusal));
        }
    }
}
