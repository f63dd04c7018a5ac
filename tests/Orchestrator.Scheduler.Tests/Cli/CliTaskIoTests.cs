using Orchestrator.Cli;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Cli;

/// <summary>task logs and task exec against a fake TaskService (the protos' behaviour, not the scheduler's).</summary>
internal sealed class CliTaskIoTests
{
    private FakeTaskServer _server = null!;

    [SetUp]
    public async Task StartServer() => _server = await FakeTaskServer.StartAsync();

    [TearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    private Task<CliResult> Cli(string[] args, byte[]? stdin = null, Func<CliContext, CliContext>? adjust = null) =>
        CliRunner.RunAsync(_server.Handler, "token", args, stdin, adjust: adjust);

    [Test]
    public async Task Logs_print_stdout_lines_to_stdout_and_stderr_lines_to_stderr_with_the_request_flags()
    {
        var result = await Cli(["task", "logs", FakeTaskService.Task, "--container", "app", "-f", "--tail", "10", "--since", "2026-12-05T09:00:00Z"]);

        var request = _server.Service.LogsRequest!;
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
            Assert.That(result.Out, Is.EqualTo("hello\nbye\n"), "text, not JSON, although stdout is not a terminal");
            Assert.That(result.Error, Is.EqualTo("oops\n"));
            Assert.That((request.Container, request.Follow, request.Tail, request.Timestamps), Is.EqualTo(("app", true, 10, false)));
            Assert.That(request.Since.ToDateTime(), Is.EqualTo(new DateTime(2026, 12, 5, 9, 0, 0, DateTimeKind.Utc)));
        });
    }

    [Test]
    public async Task Logs_with_timestamps_prefix_each_line_with_its_time()
    {
        var result = await Cli(["task", "logs", FakeTaskService.Task, "--timestamps"]);

        Assert.That(result.Out, Is.EqualTo("2026-12-05T10:00:00.0000000Z hello\n2026-12-05T10:00:00.0000000Z bye\n"));
    }

    [Test]
    public async Task Logs_with_json_output_asked_for_are_the_api_answers_one_per_line()
    {
        var result = await Cli(["task", "logs", FakeTaskService.Task, "-o", "json"]);

        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Multiple(() =>
        {
            Assert.That(lines, Has.Length.EqualTo(3));
            Assert.That(System.Text.Json.JsonDocument.Parse(lines[1]).RootElement.GetProperty("lines")[1].GetProperty("stream").GetString(), Is.EqualTo("LOG_STREAM_STDERR"));
        });
    }

    [TestCase("logs")]
    [TestCase("exec")]
    public async Task An_unknown_task_is_a_not_found_line(string verb)
    {
        string[] args = verb == "logs" ? ["task", "logs", "nope"] : ["task", "exec", "nope", "--", "sh"];

        var result = await Cli(args);

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1));
            Assert.That(result.ErrorLines, Is.EqualTo(new[] { "orchestrator: NotFound: task: no task \"nope\" in cluster \"default\"" }));
        });
    }

    [Test]
    public async Task Exec_prints_the_output_and_exits_with_the_command_s_exit_code()
    {
        var result = await Cli(["task", "exec", FakeTaskService.Task, "--container", "app", "--", "sh", "-c", "echo $X; exit 3"]);

        var start = _server.Service.ExecStart!;
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(3), result.ToString());
            Assert.That(result.Out, Is.EqualTo("héllo\n"));
            Assert.That(result.Error, Is.EqualTo("warning\n"));
            Assert.That(start.Command, Is.EqualTo(new[] { "sh", "-c", "echo $X; exit 3" }));
            Assert.That((start.Container, start.Interactive, start.Tty), Is.EqualTo(("app", false, false)));
        });
    }

    [Test]
    public async Task Exec_interactive_forwards_standard_input_and_its_end()
    {
        var result = await Cli(["task", "exec", FakeTaskService.Task, "-i", "--", "cat"], "line one\nline two\n"u8.ToArray());

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
            Assert.That(result.Out, Is.EqualTo("line one\nline two\n"));
            Assert.That(_server.Service.ExecStart!.Interactive, Is.True);
        });
    }

    [Test]
    public async Task Exec_with_a_tty_on_a_terminal_sends_its_size_and_uses_raw_mode_until_the_end()
    {
        var terminal = new FakeTerminal();

        var result = await Cli(["task", "exec", FakeTaskService.Task, "-it", "--", "cat"], "ls\n"u8.ToArray(),
            context => context with { StdinIsTerminal = true, Terminal = terminal });

        var start = _server.Service.ExecStart!;
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
            Assert.That(start.Tty, Is.True);
            Assert.That((start.Size.Rows, start.Size.Columns), Is.EqualTo((40u, 120u)));
            Assert.That(terminal.RawEntered, Is.EqualTo(1));
            Assert.That(terminal.RawRestored, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Exec_that_the_server_refuses_is_its_status_line()
    {
        var result = await Cli(["task", "exec", FakeTaskService.Task, "--", "fail"]);

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1));
            Assert.That(result.ErrorLines, Is.EqualTo(new[] { "orchestrator: FailedPrecondition: task: task \"t1\" is STOPPED" }));
        });
    }

    private sealed class FakeTerminal : ITerminal
    {
        public int RawEntered { get; private set; }
        public int RawRestored { get; private set; }

        public (uint Rows, uint Columns) Size => (40, 120);

        public IDisposable EnterRawMode()
        {
            RawEntered++;
            return new Callback(() => RawRestored++);
        }

        public IDisposable OnResize(Action resized) => new Callback(() => { });

        private sealed class Callback(Action action) : IDisposable
        {
            public void Dispose() => action();
        }
    }
}
