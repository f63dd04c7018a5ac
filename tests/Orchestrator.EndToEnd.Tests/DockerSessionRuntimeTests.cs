using System.Text;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Sessions;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>
/// The runtime's logs and exec on the real Docker engine (DockerRuntime, without the daemons): lines
/// while the container writes, the two streams apart, tail and since, a command's output and exit
/// code, an interactive shell through a tty, and nothing left running when an exec is cut short.
/// </summary>
internal sealed class DockerSessionRuntimeTests
{
    private const string TestLabel = "orchestrator.test=docker-session-runtime";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly List<string> _containers = [];
    private DockerRuntime _runtime = null!;

    [SetUp]
    public void SetUp()
    {
        Docker.RequireReady();
        _runtime = new DockerRuntime("unix:///var/run/docker.sock");
    }

    [TearDown]
    public void TearDown()
    {
        _runtime.Dispose();
        foreach (var id in _containers)
        {
            Docker.Run("rm", "-f", id);
        }

        _containers.Clear();
    }

    private string RunContainer(params string[] arguments)
    {
        var (code, output) = Docker.Run(["run", "-d", "--label", TestLabel, .. arguments]);
        Assert.That(code, Is.Zero, $"docker run: {output}");
        var id = output.Trim();
        _containers.Add(id);
        return id;
    }

    private static void WaitForExit(string id) => Assert.That(Docker.Run("wait", id).ExitCode, Is.Zero, "docker wait");

    private async Task<List<LogLine>> ReadLinesAsync(string id, LogReadOptions options)
    {
        using var bound = new CancellationTokenSource(Bound);
        var splitter = new LogLineSplitter(options.Timestamps);
        var lines = new List<LogLine>();
        await foreach (var chunk in _runtime.ReadLogsAsync(id, options, bound.Token))
        {
            splitter.Add(chunk, lines);
        }

        splitter.Flush(lines);
        return lines;
    }

    private static async Task<(string Stdout, string Stderr)> ReadToEndAsync(IExecProcess process)
    {
        using var bound = new CancellationTokenSource(Bound);
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var buffer = new byte[4096];
        while (true)
        {
            var (stream, count) = await process.ReadAsync(buffer, bound.Token);
            if (count == 0)
            {
                return (stdout.ToString(), stderr.ToString());
            }

            (stream == OutputStream.Stderr ? stderr : stdout).Append(Encoding.UTF8.GetString(buffer, 0, count));
        }
    }

    private static async Task<int> ExitCodeAsync(IExecProcess process)
    {
        for (var i = 0; i < 600; i++)
        {
            if ((await process.InspectAsync(CancellationToken.None)).ExitCode is { } code)
            {
                return code;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("the exec did not end within 60 s of its output");
    }

    [Test]
    public async Task Followed_logs_arrive_while_the_container_writes_and_end_when_it_stops()
    {
        var id = RunContainer(Docker.TestImage, "sh", "-c", "echo first; while [ ! -f /tmp/go ]; do sleep 0.1; done; echo second");
        using var bound = new CancellationTokenSource(Bound);
        await using var chunks = _runtime.ReadLogsAsync(id, new LogReadOptions(true, null, null, false), bound.Token).GetAsyncEnumerator();
        var splitter = new LogLineSplitter(false);
        var lines = new List<LogLine>();

        while (lines.Count == 0 && await chunks.MoveNextAsync())
        {
            splitter.Add(chunks.Current, lines);
        }

        var runningWhenFirstArrived = Docker.Inspect(id, "{{.State.Running}}");
        Assert.That(Docker.Run("exec", id, "touch", "/tmp/go").ExitCode, Is.Zero);
        while (await chunks.MoveNextAsync())
        {
            splitter.Add(chunks.Current, lines);
        }

        splitter.Flush(lines);
        Assert.Multiple(() =>
        {
            Assert.That(runningWhenFirstArrived, Is.EqualTo("true"), "the first line came while the container still ran");
            Assert.That(lines.Select(l => l.Text), Is.EqualTo(new[] { "first", "second" }));
            Assert.That(Docker.Inspect(id, "{{.State.Running}}"), Is.EqualTo("false"), "the stream ended with the container");
        });
    }

    [Test]
    public async Task Stdout_and_stderr_are_told_apart()
    {
        var id = RunContainer(Docker.TestImage, "sh", "-c", "echo out; echo err >&2; echo out again");
        WaitForExit(id);

        var lines = await ReadLinesAsync(id, new LogReadOptions(false, null, null, false));

        Assert.That(lines.Select(l => (l.Stream, l.Text)).OrderBy(l => l.Text), Is.EqualTo(new[]
        {
            (LogStream.Stderr, "err"), (LogStream.Stdout, "out"), (LogStream.Stdout, "out again"),
        }));
    }

    [Test]
    public async Task A_container_with_a_tty_has_all_its_output_on_stdout()
    {
        var id = RunContainer("-t", Docker.TestImage, "sh", "-c", "echo out; echo err >&2");
        WaitForExit(id);

        var lines = await ReadLinesAsync(id, new LogReadOptions(false, null, null, false));

        Assert.That(lines.Select(l => (l.Stream, l.Text)), Is.EqualTo(new[] { (LogStream.Stdout, "out"), (LogStream.Stdout, "err") }));
    }

    [Test]
    public async Task Tail_takes_the_last_lines_and_since_the_lines_from_a_time_with_their_timestamps()
    {
        var id = RunContainer(Docker.TestImage, "sh", "-c", "echo 1; echo 2; sleep 1; echo 3; echo 4; echo 5");
        WaitForExit(id);

        var all = await ReadLinesAsync(id, new LogReadOptions(false, null, null, true));
        var tail = await ReadLinesAsync(id, new LogReadOptions(false, 2, null, false));
        var since = await ReadLinesAsync(id, new LogReadOptions(false, null, all[2].Time.ToDateTimeOffset(), true));
        var none = await ReadLinesAsync(id, new LogReadOptions(false, 0, null, false));

        Assert.Multiple(() =>
        {
            Assert.That(all.Select(l => l.Text), Is.EqualTo(new[] { "1", "2", "3", "4", "5" }));
            Assert.That(all.All(l => l.Time is not null && Math.Abs((l.Time.ToDateTimeOffset() - DateTimeOffset.UtcNow).TotalMinutes) < 10), Is.True, "each line has the engine's time");
            Assert.That(tail.Select(l => l.Text), Is.EqualTo(new[] { "4", "5" }));
            Assert.That(since.Select(l => l.Text), Is.EqualTo(new[] { "3", "4", "5" }));
            Assert.That(none, Is.Empty);
        });
    }

    [Test]
    public async Task A_line_longer_than_Dockers_16_KiB_pieces_is_one_line_with_timestamps_too()
    {
        var id = RunContainer(Docker.TestImage, "sh", "-c", "head -c 40000 /dev/zero | tr '\\0' a; echo; echo short");
        WaitForExit(id);

        var lines = await ReadLinesAsync(id, new LogReadOptions(false, null, null, true));

        Assert.Multiple(() =>
        {
            Assert.That(lines.Select(l => l.Text), Is.EqualTo(new[] { new string('a', 40000), "short" }));
            Assert.That(lines.All(l => l.Time is not null), Is.True);
        });
    }

    [Test]
    public async Task Exec_returns_the_commands_output_and_exit_code()
    {
        var id = RunContainer("-e", "X=from the container", Docker.TestImage, "sleep", "3600");

        await using var process = await _runtime.ExecAsync(id, new ExecSpec(["sh", "-c", "echo $X; echo to stderr >&2; exit 3"], false, false, 0, 0, []), CancellationToken.None);
        var (stdout, stderr) = await ReadToEndAsync(process);

        Assert.Multiple(async () =>
        {
            Assert.That(stdout, Is.EqualTo("from the container\n"));
            Assert.That(stderr, Is.EqualTo("to stderr\n"));
            Assert.That(await ExitCodeAsync(process), Is.EqualTo(3));
        });
    }

    [Test]
    public async Task A_command_that_is_not_found_ends_as_docker_exec_does_with_the_engines_message_and_code_126_or_127()
    {
        var id = RunContainer(Docker.TestImage, "sleep", "3600");

        await using var process = await _runtime.ExecAsync(id, new ExecSpec(["no-such-command"], false, false, 0, 0, []), CancellationToken.None);
        var (stdout, stderr) = await ReadToEndAsync(process);
        var code = await ExitCodeAsync(process);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(126).Or.EqualTo(127));
            Assert.That(stdout + stderr, Does.Contain("no-such-command"));
        });
    }

    [Test]
    public async Task An_interactive_shell_through_a_tty_takes_input_and_ends_with_its_exit_code()
    {
        var id = RunContainer(Docker.TestImage, "sleep", "3600");

        await using var process = await _runtime.ExecAsync(id, new ExecSpec(["sh"], true, true, 30, 100, []), CancellationToken.None);
        await process.WriteInputAsync("stty size; echo hi\n"u8.ToArray(), CancellationToken.None);
        await process.WriteInputAsync("exit 5\n"u8.ToArray(), CancellationToken.None);
        var (stdout, stderr) = await ReadToEndAsync(process);

        Assert.Multiple(async () =>
        {
            Assert.That(stdout, Does.Contain("\r\nhi\r\n"), "the shell's output, through the terminal's line discipline");
            Assert.That(stdout, Does.Contain("30 100"), "the terminal has the size asked at start");
            Assert.That(stderr, Is.Empty, "a tty has one stream");
            Assert.That(await ExitCodeAsync(process), Is.EqualTo(5));
        });
    }

    [TestCase(false, "sleep 600", TestName = "Cutting short an exec of sleep 600 leaves no process running")]
    [TestCase(true, "sleep 600", TestName = "Cutting short an exec of sleep 600 on a tty leaves no process running")]
    [TestCase(false, "sh -c 'sleep 601 & sleep 602 & wait'", TestName = "Cutting short an exec leaves none of the processes it started running")]
    public async Task Cutting_short_an_exec_leaves_nothing_running(bool tty, string command)
    {
        var id = RunContainer(Docker.TestImage, "sleep", "3600");
        var process = await _runtime.ExecAsync(id, new ExecSpec(["sh", "-c", command], tty, false, 0, 0, []), CancellationToken.None);
        await Polling.UntilAsync(() => Task.FromResult(Top(id).Contains("sleep 60", StringComparison.Ordinal)), "the exec's sleep runs", Bound);

        await process.DisposeAsync();
        var killed = await process.KillAsync(CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That(killed, Is.True);
            Assert.That((await process.InspectAsync(CancellationToken.None)).Running, Is.False);
            Assert.That(Top(id), Does.Not.Contain("sleep 60"), "docker top lists no process of the exec");
            Assert.That(Top(id), Does.Contain("sleep 3600"), "the container's own process is left alone");
        });
    }

    [Test]
    public async Task A_followed_log_read_that_waits_for_output_ends_when_cancelled()
    {
        var id = RunContainer(Docker.TestImage, "sleep", "3600");
        using var cancel = new CancellationTokenSource();
        await using var chunks = _runtime.ReadLogsAsync(id, new LogReadOptions(true, null, null, false), cancel.Token).GetAsyncEnumerator();
        var waiting = chunks.MoveNextAsync().AsTask();

        await cancel.CancelAsync();

        Assert.That(async () => await waiting.WaitAsync(Bound), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task An_exec_read_that_waits_for_output_ends_when_cancelled()
    {
        var id = RunContainer(Docker.TestImage, "sleep", "3600");
        var process = await _runtime.ExecAsync(id, new ExecSpec(["sleep", "600"], false, false, 0, 0, []), CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var waiting = process.ReadAsync(new byte[4096], cancel.Token);

        await cancel.CancelAsync();

        Assert.That(async () => await waiting.WaitAsync(Bound), Throws.InstanceOf<Exception>());
        await process.DisposeAsync();
        Assert.That(await process.KillAsync(CancellationToken.None), Is.True);
    }

    private static string Top(string id)
    {
        var (code, output) = Docker.Run("top", id, "-o", "pid,args");
        return code == 0 ? output : throw new InvalidOperationException($"docker top: {output}");
    }
}
