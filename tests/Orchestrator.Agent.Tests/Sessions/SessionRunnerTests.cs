using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Sessions;
using Orchestrator.Agent.Tasks;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Tests.Sessions;

/// <summary>The agent's side of task sessions, against a fake engine and a fake scheduler endpoint.</summary>
internal sealed class SessionRunnerTests
{
    private const string TaskId = "task-1";
    private static readonly AgentIdentity Identity = new("default", "node-1", "127.0.0.1");

    private FakeRuntime _runtime = null!;
    private FakeSessionChannel _channel = null!;
    private SessionRunner _runner = null!;

    [SetUp]
    public void SetUp()
    {
        _runtime = new FakeRuntime();
        _channel = new FakeSessionChannel();
        _runner = new SessionRunner(_channel, _runtime, Identity, NullLogger<SessionRunner>.Instance);
    }

    [TearDown]
    public async Task TearDown() => await _runner.DisposeAsync();

    private void Seed(string id, string container, bool running, string node = "node-1", string taskId = TaskId)
    {
        var labels = new Dictionary<string, string>
        {
            [ContainerLabels.TaskId] = taskId,
            [ContainerLabels.Container] = container,
            [ContainerLabels.Node] = node,
        };
        _runtime.Seed(id, new ContainerSpec($"c-{id}", "busybox", [], [], [], 0, 0, 0, [], null, 10, labels), running, running ? null : 0);
    }

    private static OpenSession Logs(string container = "web", bool follow = false, int? tail = null, bool timestamps = false, string id = "s-1")
    {
        var logs = new TaskLogsSession { Follow = follow, Timestamps = timestamps, Since = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)) };
        if (tail is { } t)
        {
            logs.Tail = t;
        }

        return new OpenSession { SessionId = id, TaskId = TaskId, Container = container, Logs = logs };
    }

    private static OpenSession Exec(bool tty = false, bool interactive = false) => new()
    {
        SessionId = "s-2",
        TaskId = TaskId,
        Container = "web",
        Exec = new ExecSession { Command = { "sh", "-c", "echo $X; exit 3" }, Tty = tty, Interactive = interactive, Size = new TerminalSize { Rows = 24, Columns = 80 } },
    };

    private async Task<FakeSessionCall> OpenAsync(OpenSession open, CancellationToken connection = default)
    {
        _runner.Open(open, connection);
        var call = await _channel.NextCallAsync();
        var hello = await call.NextAsync();
        Assert.That(hello?.Hello?.SessionId, Is.EqualTo(open.SessionId), "the first message is hello with the session's id");
        return call;
    }

    private void Write(string id, OutputStream stream, string text) =>
        _runtime.LogsOf(id).Writer.TryWrite(new OutputChunk(stream, Encoding.UTF8.GetBytes(text)));

    [Test]
    public async Task Logs_of_a_stopped_container_are_sent_as_lines_stdout_and_stderr_apart_and_the_call_completes()
    {
        Seed("c1", "web", running: false);
        Write("c1", OutputStream.Stdout, "out one\nout two\n");
        Write("c1", OutputStream.Stderr, "err one\n");
        _runtime.LogsOf("c1").Writer.Complete();

        var call = await OpenAsync(Logs(tail: 10));
        var rest = await call.RestAsync();
        await call.Disposed.Task.WaitAsync(FakeSessionCall.Bound);

        Assert.Multiple(() =>
        {
            Assert.That(rest[0].Logs.Container, Is.EqualTo("web"), "the first logs message names the container");
            Assert.That(rest.SelectMany(m => m.Logs.Lines).Select(l => (l.Stream, l.Text)), Is.EqualTo(new[]
            {
                (LogStream.Stdout, "out one"), (LogStream.Stdout, "out two"), (LogStream.Stderr, "err one"),
            }));
            Assert.That(call.CompletedByAgent, Is.True);
            Assert.That(_runtime.LogReads.Single(), Is.EqualTo(new LogReadOptions(false, 10, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), false)));
            Assert.That(_runtime.OpenLogStreams, Is.Zero);
        });
    }

    [Test]
    public async Task Logs_without_a_tail_ask_for_all()
    {
        Seed("c1", "web", running: true);
        _runtime.LogsOf("c1").Writer.Complete();

        var call = await OpenAsync(Logs());
        await call.RestAsync();

        Assert.That(_runtime.LogReads.Single().Tail, Is.Null);
    }

    [Test]
    public async Task Followed_logs_flow_as_written_and_stop_being_read_when_the_scheduler_ends_the_call()
    {
        Seed("c1", "web", running: true);
        var call = await OpenAsync(Logs(follow: true));
        Assert.That((await call.NextAsync())!.Logs.Container, Is.EqualTo("web"));

        Write("c1", OutputStream.Stdout, "first\n");
        Assert.That((await call.NextAsync())!.Logs.Lines.Single().Text, Is.EqualTo("first"), "a line is sent while the container still runs");
        Write("c1", OutputStream.Stdout, "second\n");
        Assert.That((await call.NextAsync())!.Logs.Lines.Single().Text, Is.EqualTo("second"));

        call.End();
        await call.Disposed.Task.WaitAsync(FakeSessionCall.Bound);

        Assert.That(_runtime.OpenLogStreams, Is.Zero, "no log stream is left open on the engine");
    }

    [Test]
    public async Task Messages_sent_to_a_log_session_do_not_keep_it_from_seeing_the_end_of_the_call()
    {
        Seed("c1", "web", running: true);
        var call = await OpenAsync(Logs(follow: true));
        await call.NextAsync();

        for (var i = 0; i < 100; i++)
        {
            call.Send(new ExecuteCommandRequest { Stdin = ByteString.CopyFromUtf8("ignored") });
        }

        call.End();
        await call.Disposed.Task.WaitAsync(FakeSessionCall.Bound);

        Assert.That(_runtime.OpenLogStreams, Is.Zero);
    }

    [Test]
    public async Task Logs_end_with_the_connect_stream()
    {
        Seed("c1", "web", running: true);
        using var connection = new CancellationTokenSource();
        var call = await OpenAsync(Logs(follow: true), connection.Token);
        await call.NextAsync();

        await connection.CancelAsync();
        await call.Disposed.Task.WaitAsync(FakeSessionCall.Bound);

        Assert.That(_runtime.OpenLogStreams, Is.Zero);
    }

    private static IEnumerable<TestCaseData> Missing()
    {
        yield return new TestCaseData("web", "node-2").SetName("Containers on another node sharing the engine do not count");
        yield return new TestCaseData("db", "node-1").SetName("Another container of the task does not count");
    }

    [TestCaseSource(nameof(Missing))]
    public async Task Logs_of_a_container_that_is_not_on_this_node_fail_with_not_found_naming_task_container_and_node(string container, string node)
    {
        Seed("c1", container, running: false, node: node);

        var call = await OpenAsync(Logs());
        var rest = await call.RestAsync();

        Assert.Multiple(() =>
        {
            Assert.That(rest.Single().Failed.StatusCode, Is.EqualTo((int)StatusCode.NotFound));
            Assert.That(rest.Single().Failed.Message, Is.EqualTo($"container web of task {TaskId} is gone from node node-1"));
        });
    }

    [Test]
    public async Task Logs_the_engine_cannot_read_fail_with_failed_precondition_and_the_engines_reason()
    {
        Seed("c1", "web", running: true);
        _runtime.LogsFault = new ContainerOperationException("configured logging driver does not support reading");

        var call = await OpenAsync(Logs());
        var rest = await call.RestAsync();

        Assert.Multiple(() =>
        {
            Assert.That(rest.Last().Failed.StatusCode, Is.EqualTo((int)StatusCode.FailedPrecondition));
            Assert.That(rest.Last().Failed.Message, Is.EqualTo("cannot read the logs of container web of task task-1: configured logging driver does not support reading"));
        });
    }

    [Test]
    public async Task An_exec_that_cannot_be_killed_is_still_ended_on_this_side()
    {
        Seed("c1", "web", running: true);
        var call = await OpenAsync(Exec());
        var process = await _runtime.NextExecAsync(FakeSessionCall.Bound);
        process.Killable = false;

        call.End();
        await call.Disposed.Task.WaitAsync(FakeSessionCall.Bound);
        for (var i = 0; i < 3000 && _runner.Count > 0; i++)
        {
            await Task.Delay(10);
        }

        Assert.Multiple(() =>
        {
            Assert.That(process.Disposed, Is.True);
            Assert.That(process.Running, Is.True, "the fake process could not be killed");
            Assert.That(_runner.Count, Is.Zero, "the session is over (and a warning names the process left running)");
        });
    }

    [Test]
    public async Task Exec_sends_output_then_the_exit_code_last()
    {
        Seed("c1", "web", running: true);
        var call = await OpenAsync(Exec());
        var process = await _runtime.NextExecAsync(FakeSessionCall.Bound);

        process.Write(OutputStream.Stdout, "hello\n");
        process.Write(OutputStream.Stderr, "oops\n");
        process.Exit(3);
        var rest = await call.RestAsync();

        Assert.Multiple(() =>
        {
            Assert.That(rest.Select(m => m.Exec.BodyCase), Is.EqualTo(new[]
            {
                ExecuteCommandResponse.BodyOneofCase.Stdout, ExecuteCommandResponse.BodyOneofCase.Stderr, ExecuteCommandResponse.BodyOneofCase.Exited,
            }));
            Assert.That(rest[0].Exec.Stdout.ToStringUtf8(), Is.EqualTo("hello\n"));
            Assert.That(rest[1].Exec.Stderr.ToStringUtf8(), Is.EqualTo("oops\n"));
            Assert.That(rest[2].Exec.Exited.ExitCode, Is.EqualTo(3));
            Assert.That(process.Spec.Command, Is.EqualTo(new[] { "sh", "-c", "echo $X; exit 3" }));
            Assert.That(process.Killed, Is.False, "a process that ended is not killed");
        });
    }

    [Test]
    public async Task Exec_input_resize_and_end_of_input_reach_the_process()
    {
        Seed("c1", "web", running: true);
        var call = await OpenAsync(Exec(tty: true, interactive: true));
        var process = await _runtime.NextExecAsync(FakeSessionCall.Bound);

        call.Send(new ExecuteCommandRequest { Stdin = ByteString.CopyFromUtf8("echo hi\n") });
        call.Send(new ExecuteCommandRequest { Resize = new TerminalSize { Rows = 50, Columns = 120 } });
        call.Send(new ExecuteCommandRequest { CloseStdin = true });
        for (var i = 0; i < 300 && !process.InputClosed; i++)
        {
            await Task.Delay(10);
        }

        process.Exit(0);
        var rest = await call.RestAsync();

        Assert.Multiple(() =>
        {
            Assert.That(Encoding.UTF8.GetString(process.Input), Is.EqualTo("echo hi\n"));
            Assert.That(process.Resizes, Is.EqualTo(new[] { ((ushort)50, (ushort)120) }));
            Assert.That(process.InputClosed, Is.True);
            Assert.That(process.Spec, Has.Property(nameof(ExecSpec.Tty)).True.And.Property(nameof(ExecSpec.Rows)).EqualTo(24).And.Property(nameof(ExecSpec.Columns)).EqualTo(80));
            Assert.That(rest.Last().Exec.Exited.ExitCode, Is.Zero);
        });
    }

    [Test]
    public async Task Exec_into_a_stopped_container_fails_with_failed_precondition()
    {
        Seed("c1", "web", running: false);

        var call = await OpenAsync(Exec());
        var rest = await call.RestAsync();

        Assert.Multiple(() =>
        {
            Assert.That(rest.Single().Failed.StatusCode, Is.EqualTo((int)StatusCode.FailedPrecondition));
            Assert.That(rest.Single().Failed.Message, Does.Contain("container web of task task-1 is not running"));
            Assert.That(_runtime.Execs, Is.Empty);
        });
    }

    [Test]
    public async Task A_scheduler_that_ends_an_exec_before_the_process_leaves_nothing_running()
    {
        Seed("c1", "web", running: true);
        var call = await OpenAsync(Exec());
        var process = await _runtime.NextExecAsync(FakeSessionCall.Bound);

        call.End();
        await call.Disposed.Task.WaitAsync(FakeSessionCall.Bound);

        Assert.Multiple(() =>
        {
            Assert.That(process.Disposed, Is.True, "the attachment is closed");
            Assert.That(process.Killed, Is.True, "the process is killed");
            Assert.That(process.Running, Is.False);
        });
    }

    [Test]
    public async Task A_close_from_connect_ends_an_exec_whose_call_is_not_read_again()
    {
        Seed("c1", "web", running: true);
        var call = await OpenAsync(Exec(interactive: true));
        var process = await _runtime.NextExecAsync(FakeSessionCall.Bound);

        // The call is never ended on this side (as when reading it is held up behind input the process
        // does not take): the scheduler's CloseSession on Connect ends the session all the same.
        _runner.Close("s-2");
        await call.Disposed.Task.WaitAsync(FakeSessionCall.Bound);

        Assert.Multiple(() =>
        {
            Assert.That(process.Killed, Is.True, "the process is killed");
            Assert.That(process.Running, Is.False);
        });
    }

    [Test]
    public void A_close_for_a_session_this_agent_does_not_run_changes_nothing() =>
        Assert.DoesNotThrow(() => _runner.Close("no-such-session"));

    [Test]
    public async Task More_sessions_than_the_limit_are_refused_with_resource_exhausted()
    {
        Seed("c1", "web", running: true);
        var open = new List<FakeSessionCall>();
        for (var i = 0; i < SessionRunner.MaxSessions; i++)
        {
            open.Add(await OpenAsync(Logs(follow: true, id: $"s-{i}")));
        }

        var refused = await OpenAsync(Logs(follow: true, id: "one-too-many"));
        var rest = await refused.RestAsync();

        Assert.Multiple(() =>
        {
            Assert.That(rest.Single().Failed.StatusCode, Is.EqualTo((int)StatusCode.ResourceExhausted));
            Assert.That(_runner.Count, Is.EqualTo(SessionRunner.MaxSessions));
        });

        foreach (var call in open)
        {
            call.End();
            await call.Disposed.Task.WaitAsync(FakeSessionCall.Bound);
        }

        Assert.That(_runtime.OpenLogStreams, Is.Zero);
    }
}
