using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>
/// Task logs and exec through the scheduler, with both daemons on real Docker: TaskService's calls, the
/// scheduler's OpenSession, and the agent's Session on a connection of its own to the engine and back.
/// </summary>
internal sealed class TaskSessionEndToEndTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static ContainerDefinition App(params string[] command) => new()
    {
        Name = "app",
        Image = Docker.TestImage,
        Command = { command },
        Memory = 16,
        StopTimeoutSeconds = 1,
        Environment = { new EnvironmentVariable { Name = "X", Value = "from the task" } },
    };

    private static async Task<(Contracts.V1.Task Task, string ContainerId)> RunAsync(Cluster cluster, string family, TaskStatus until, params string[] command)
    {
        var placed = await cluster.RunAsync(await cluster.RegisterAsync(family, App(command)));
        var task = await cluster.WaitForAsync(placed.TaskId, until);
        return (task, task.Containers.Single().RuntimeId);
    }

    private static async Task<List<LogLine>> LinesAsync(IAsyncStreamReader<GetTaskLogsResponse> stream, int count, CancellationToken cancellation)
    {
        var lines = new List<LogLine>();
        while (lines.Count < count && await stream.MoveNext(cancellation))
        {
            lines.AddRange(stream.Current.Lines);
        }

        return lines;
    }

    [Test]
    public async Task Logs_are_followed_through_the_scheduler_while_the_container_writes()
    {
        await using var cluster = await Cluster.StartAsync();
        var (task, containerId) = await RunAsync(cluster, "writer", TaskStatus.Running,
            "sh", "-c", "echo first; echo oops >&2; while [ ! -f /tmp/go ]; do sleep 0.1; done; echo second; exec sleep 3600");
        using var bound = new CancellationTokenSource(Bound);
        using var call = cluster.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = task.TaskId, Follow = true, Timestamps = true }, cancellationToken: bound.Token);

        Assert.That(await call.ResponseStream.MoveNext(bound.Token), Is.True);
        var container = call.ResponseStream.Current.Container;
        var lines = new List<LogLine>(call.ResponseStream.Current.Lines);
        lines.AddRange(await LinesAsync(call.ResponseStream, 2 - lines.Count, bound.Token));
        Assert.That(Docker.Run("exec", containerId, "touch", "/tmp/go").ExitCode, Is.Zero);
        lines.AddRange(await LinesAsync(call.ResponseStream, 1, bound.Token));

        Assert.Multiple(() =>
        {
            Assert.That(container, Is.EqualTo("app"));
            Assert.That(lines.Select(l => (l.Stream, l.Text)).OrderBy(l => l.Text), Is.EqualTo(new[]
            {
                (LogStream.Stdout, "first"), (LogStream.Stderr, "oops"), (LogStream.Stdout, "second"),
            }));
            Assert.That(lines.All(l => l.Time is not null), Is.True);
            Assert.That(Docker.Inspect(containerId, "{{.State.Running}}"), Is.EqualTo("true"), "the lines came while it ran");
        });
    }

    [Test]
    public async Task Logs_of_a_stopped_task_end_with_the_last_line()
    {
        await using var cluster = await Cluster.StartAsync();
        // One stream: the engine copies stdout and stderr by separate pipes, so their lines can reach the
        // log in another order than written, and "the last two" would be either.
        var (task, _) = await RunAsync(cluster, "stopped", TaskStatus.Stopped, "sh", "-c", "echo first; echo second; echo last");
        using var bound = new CancellationTokenSource(Bound);
        using var call = cluster.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = task.TaskId, Tail = 2 }, cancellationToken: bound.Token);

        var lines = await LinesAsync(call.ResponseStream, int.MaxValue, bound.Token);

        Assert.That(lines.Select(l => l.Text), Is.EqualTo(new[] { "second", "last" }), "the last two lines, and the call ends");
    }

    [Test]
    public async Task A_log_reader_that_stops_reading_does_not_hold_back_a_task_started_on_the_same_node()
    {
        await using var cluster = await Cluster.StartAsync();

        // 20 MB of lines: far more than the flow-control windows between the engine and the client hold.
        var (chatty, _) = await RunAsync(cluster, "chatty", TaskStatus.Running,
            "sh", "-c", "head -c 20000000 /dev/zero | tr '\\0' a | fold -w 100; exec sleep 3600");
        using var bound = new CancellationTokenSource(Bound * 2);

        // Two of them: one stream alone cannot take all of an HTTP/2 connection's window (768 KB of
        // Kestrel's 1 MB), two can, were they on Connect's connection.
        var stalled = new List<AsyncServerStreamingCall<GetTaskLogsResponse>>();
        for (var i = 0; i < 2; i++)
        {
            stalled.Add(cluster.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = chatty.TaskId, Follow = true }, cancellationToken: bound.Token));
            Assert.That(await stalled[i].ResponseStream.MoveNext(bound.Token), Is.True, "the log stream is open");
        }

        // Nothing more is read from them while a second task is started and stopped on the same node.
        var (second, _) = await RunAsync(cluster, "second", TaskStatus.Running, "sleep", "3600");
        await cluster.Tasks.StopTaskAsync(new StopTaskRequest { Task = second.TaskId, Reason = "done" });
        await cluster.WaitForAsync(second.TaskId, TaskStatus.Stopped);

        foreach (var call in stalled)
        {
            var lines = await LinesAsync(call.ResponseStream, 1000, bound.Token);
            Assert.That(lines, Has.Count.GreaterThanOrEqualTo(1000), "the stalled stream goes on once read");
            Assert.That(lines.All(l => l.Text == new string('a', 100)), Is.True);
            call.Dispose();
        }
    }

    [Test]
    public async Task Exec_through_the_scheduler_returns_the_output_and_exit_code_3()
    {
        await using var cluster = await Cluster.StartAsync();
        var (task, _) = await RunAsync(cluster, "exec", TaskStatus.Running, "sleep", "3600");
        using var bound = new CancellationTokenSource(Bound);
        using var call = cluster.Tasks.ExecuteCommand(cancellationToken: bound.Token);

        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Start = new ExecStart { Task = task.TaskId, Command = { "sh", "-c", "echo $X; exit 3" } } });
        var (stdout, _, exitCode) = await OutputAsync(call.ResponseStream, bound.Token);

        Assert.Multiple(() =>
        {
            Assert.That(stdout, Is.EqualTo("from the task\n"));
            Assert.That(exitCode, Is.EqualTo(3));
        });
    }

    [Test]
    public async Task An_interactive_exec_through_a_pty_through_the_scheduler()
    {
        await using var cluster = await Cluster.StartAsync();
        var (task, _) = await RunAsync(cluster, "shell", TaskStatus.Running, "sleep", "3600");
        using var bound = new CancellationTokenSource(Bound);
        using var call = cluster.Tasks.ExecuteCommand(cancellationToken: bound.Token);

        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Start = new ExecStart { Task = task.TaskId, Command = { "sh" }, Tty = true, Interactive = true, Size = new TerminalSize { Rows = 40, Columns = 132 } } });
        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Stdin = ByteString.CopyFromUtf8("stty size; echo hi\n") });
        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Stdin = ByteString.CopyFromUtf8("exit 5\n") });
        var (stdout, _, exitCode) = await OutputAsync(call.ResponseStream, bound.Token);

        Assert.Multiple(() =>
        {
            Assert.That(stdout, Does.Contain("40 132"));
            Assert.That(stdout, Does.Contain("\r\nhi\r\n"));
            Assert.That(exitCode, Is.EqualTo(5));
        });
    }

    [Test]
    public async Task A_client_that_leaves_an_exec_leaves_no_process_running()
    {
        await using var cluster = await Cluster.StartAsync();
        var (task, containerId) = await RunAsync(cluster, "left", TaskStatus.Running, "sleep", "3600");
        using var client = new CancellationTokenSource();
        var call = cluster.Tasks.ExecuteCommand(cancellationToken: client.Token);
        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Start = new ExecStart { Task = task.TaskId, Command = { "sleep", "600" } } });
        await Cluster.EventuallyAsync(() => Task.FromResult(Docker.Run("top", containerId, "-o", "pid,args").Output.Contains("sleep 600", StringComparison.Ordinal)), "the command runs");

        await client.CancelAsync();
        call.Dispose();

        await Cluster.EventuallyAsync(() => Task.FromResult(!Docker.Run("top", containerId, "-o", "pid,args").Output.Contains("sleep 600", StringComparison.Ordinal)), "the command is killed",
            () => Docker.Run("top", containerId, "-o", "pid,args").Output);
    }

    [Test]
    public async Task Exec_into_a_stopped_task_is_refused_with_failed_precondition()
    {
        await using var cluster = await Cluster.StartAsync();
        var (task, _) = await RunAsync(cluster, "done", TaskStatus.Stopped, "true");
        using var bound = new CancellationTokenSource(Bound);
        using var call = cluster.Tasks.ExecuteCommand(cancellationToken: bound.Token);

        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Start = new ExecStart { Task = task.TaskId, Command = { "sh" } } });

        var refused = Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext(bound.Token));
        Assert.That(refused!.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition), refused.Status.Detail);
    }

    [Test]
    public async Task Logs_of_a_task_whose_containers_are_gone_are_not_found()
    {
        await using var cluster = await Cluster.StartAsync();
        cluster.Agent!.KillHard();
        await cluster.WaitUntilConnectedAsync(0, connected: false);
        await cluster.StartAgentAsync(0, "--Agent:StoppedContainerRetention=00:00:01");
        var (task, _) = await RunAsync(cluster, "brief", TaskStatus.Stopped, "echo", "gone soon");
        await Cluster.EventuallyAsync(() => Task.FromResult(Docker.Run("ps", "-a", "-q", "--filter", $"label=orchestrator.task-id={task.TaskId}").Output.Length == 0),
            "the agent removed the stopped task's container");
        using var bound = new CancellationTokenSource(Bound);
        using var call = cluster.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = task.TaskId }, cancellationToken: bound.Token);

        var refused = Assert.ThrowsAsync<RpcException>(async () => await LinesAsync(call.ResponseStream, int.MaxValue, bound.Token))!;
        Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.NotFound), refused.Status.Detail);
    }

    [Test]
    public async Task A_client_that_closes_its_side_still_gets_the_output_apart_and_the_exit_code()
    {
        await using var cluster = await Cluster.StartAsync();
        var (task, _) = await RunAsync(cluster, "halfclosed", TaskStatus.Running, "sleep", "3600");
        using var bound = new CancellationTokenSource(Bound);
        using var call = cluster.Tasks.ExecuteCommand(cancellationToken: bound.Token);

        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Start = new ExecStart { Task = task.TaskId, Command = { "sh", "-c", "echo $X; echo oops >&2; exit 3" } } });
        await call.RequestStream.CompleteAsync();
        var (stdout, stderr, exitCode) = await OutputAsync(call.ResponseStream, bound.Token);

        Assert.Multiple(() =>
        {
            Assert.That(stdout, Is.EqualTo("from the task\n"));
            Assert.That(stderr, Is.EqualTo("oops\n"));
            Assert.That(exitCode, Is.EqualTo(3));
        });
    }

    [Test]
    public async Task A_terminal_resized_while_the_shell_runs_takes_the_new_size()
    {
        await using var cluster = await Cluster.StartAsync();
        var (task, _) = await RunAsync(cluster, "resized", TaskStatus.Running, "sleep", "3600");
        using var bound = new CancellationTokenSource(Bound);
        using var call = cluster.Tasks.ExecuteCommand(cancellationToken: bound.Token);

        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Start = new ExecStart { Task = task.TaskId, Command = { "sh" }, Tty = true, Interactive = true, Size = new TerminalSize { Rows = 24, Columns = 80 } } });
        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Resize = new TerminalSize { Rows = 40, Columns = 120 } });
        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Stdin = ByteString.CopyFromUtf8("stty size; echo hi$((1+1))\n") });
        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Stdin = ByteString.CopyFromUtf8("exit 5\n") });
        var (stdout, _, exitCode) = await OutputAsync(call.ResponseStream, bound.Token);

        Assert.Multiple(() =>
        {
            Assert.That(stdout, Does.Contain("hi2"), "the shell ran the line it was sent");
            Assert.That(stdout, Does.Contain("40 120"), "the terminal took the new size");
            Assert.That(exitCode, Is.EqualTo(5));
        });
    }

    private static async Task<(string Stdout, string Stderr, int? ExitCode)> OutputAsync(IAsyncStreamReader<ExecuteCommandResponse> stream, CancellationToken cancellation)
    {
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        int? exitCode = null;
        while (await stream.MoveNext(cancellation))
        {
            switch (stream.Current.BodyCase)
            {
                case ExecuteCommandResponse.BodyOneofCase.Stdout:
                    stdout.Append(stream.Current.Stdout.ToStringUtf8());
                    break;
                case ExecuteCommandResponse.BodyOneofCase.Stderr:
                    stderr.Append(stream.Current.Stderr.ToStringUtf8());
                    break;
                case ExecuteCommandResponse.BodyOneofCase.Exited:
                    exitCode = stream.Current.Exited.ExitCode;
                    break;
            }
        }

        return (stdout.ToString(), stderr.ToString(), exitCode);
    }
}
