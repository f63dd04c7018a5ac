using Google.Protobuf;
using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// ExecuteCommand through the scheduler: the client's input reaches the agent's session, the command's
/// output and exit code reach the client, exited last. The client going ends the agent's call (which
/// kills the command); the agent failing ends the client's call with its status.
/// </summary>
internal sealed class TaskExecTests : TaskSessionTest
{
    private static ExecuteCommandRequest Start(string taskId, bool tty = false, bool interactive = false, params string[] command)
    {
        var start = new ExecStart { Task = taskId, Tty = tty, Interactive = interactive };
        start.Command.AddRange(command.Length == 0 ? ["sh"] : command);
        return new ExecuteCommandRequest { Start = start };
    }

    [Test]
    public async Task Input_reaches_the_agent_and_output_and_the_exit_code_reach_the_client_exit_code_last()
    {
        var (agent, taskId) = await RunningTaskAsync();
        using var call = Host.Tasks.ExecuteCommand();
        var start = Start(taskId, tty: true, interactive: true, "sh", "-c", "read x; echo $x; exit 3");
        start.Start.Size = new TerminalSize { Rows = 24, Columns = 80 };
        await call.RequestStream.WriteAsync(start);
        var (open, session) = await agent.AcceptSessionAsync();
        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Stdin = ByteString.CopyFromUtf8("hello\n") });
        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Resize = new TerminalSize { Rows = 40, Columns = 120 } });
        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { CloseStdin = true });
        var stdin = await session.NextInputAsync();
        var resize = await session.NextInputAsync();
        var close = await session.NextInputAsync();
        await session.StdoutAsync("hello\n");
        await session.StderrAsync("warning\n");
        await session.ExitedAsync(3);
        var (messages, status) = await ReadAllAsync(call.ResponseStream, call.GetStatus);
        Assert.Multiple(async () =>
        {
            Assert.That((open.TaskId, open.Container, open.KindCase), Is.EqualTo((taskId, "app", OpenSession.KindOneofCase.Exec)));
            Assert.That(open.Exec.Command, Is.EqualTo(new[] { "sh", "-c", "read x; echo $x; exit 3" }));
            Assert.That((open.Exec.Tty, open.Exec.Interactive, open.Exec.Size.Rows, open.Exec.Size.Columns), Is.EqualTo((true, true, 24u, 80u)));
            Assert.That(stdin!.Exec.Stdin.ToStringUtf8(), Is.EqualTo("hello\n"));
            Assert.That((resize!.Exec.Resize.Rows, resize.Exec.Resize.Columns), Is.EqualTo((40u, 120u)));
            Assert.That(close!.Exec.CloseStdin, Is.True);
            Assert.That(status.StatusCode, Is.EqualTo(StatusCode.OK), status.Detail);
            Assert.That(messages.Select(m => m.BodyCase), Is.EqualTo(new[]
            {
                ExecuteCommandResponse.BodyOneofCase.Stdout, ExecuteCommandResponse.BodyOneofCase.Stderr, ExecuteCommandResponse.BodyOneofCase.Exited,
            }));
            Assert.That((messages[0].Stdout.ToStringUtf8(), messages[1].Stderr.ToStringUtf8(), messages[2].Exited.ExitCode), Is.EqualTo(("hello\n", "warning\n", 3)));
            Assert.That((await session.EndAsync()).StatusCode, Is.EqualTo(StatusCode.OK), "the agent's call ends after the exit code");
        });
        await session.DisposeAsync();
        await agent.DisposeAsync();
    }

    [Test]
    public async Task The_client_closing_its_side_closes_the_commands_standard_input()
    {
        var (agent, taskId) = await RunningTaskAsync();
        using var call = Host.Tasks.ExecuteCommand();
        await call.RequestStream.WriteAsync(Start(taskId, interactive: true, command: "cat"));
        var (_, session) = await agent.AcceptSessionAsync();
        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Stdin = ByteString.CopyFromUtf8("data") });
        await call.RequestStream.CompleteAsync();
        var stdin = await session.NextInputAsync();
        var close = await session.NextInputAsync();
        await session.StdoutAsync("data");
        await session.ExitedAsync(0);
        var (messages, status) = await ReadAllAsync(call.ResponseStream, call.GetStatus);
        Assert.Multiple(() =>
        {
            Assert.That(stdin!.Exec.Stdin.ToStringUtf8(), Is.EqualTo("data"));
            Assert.That(close!.Exec.CloseStdin, Is.True, "end of the client's input is end of the command's");
            Assert.That(status.StatusCode, Is.EqualTo(StatusCode.OK));
            Assert.That(messages.Last().Exited.ExitCode, Is.EqualTo(0));
        });
        await session.DisposeAsync();
        await agent.DisposeAsync();
    }

    [Test]
    public async Task The_agents_failure_ends_the_call_with_its_status()
    {
        var (agent, taskId) = await RunningTaskAsync();
        using var call = Host.Tasks.ExecuteCommand();
        await call.RequestStream.WriteAsync(Start(taskId, command: "nosuchprogram"));
        var (_, session) = await agent.AcceptSessionAsync();
        await session.FailAsync(StatusCode.FailedPrecondition, "command: the program was not found in container app");
        var (messages, status) = await ReadAllAsync(call.ResponseStream, call.GetStatus);
        Assert.Multiple(() =>
        {
            Assert.That(messages, Is.Empty);
            Assert.That((status.StatusCode, status.Detail), Is.EqualTo((StatusCode.FailedPrecondition, "command: the program was not found in container app")));
        });
        await session.DisposeAsync();
        await agent.DisposeAsync();
    }

    [Test]
    public async Task The_client_going_ends_the_agents_session_call_so_the_command_is_killed()
    {
        var (agent, taskId) = await RunningTaskAsync();
        using var going = new CancellationTokenSource();
        using var call = Host.Tasks.ExecuteCommand(cancellationToken: going.Token);
        await call.RequestStream.WriteAsync(Start(taskId, command: "sleep"));
        var (open, session) = await agent.AcceptSessionAsync();
        await session.StdoutAsync("started");
        await NextAsync(call.ResponseStream);
        await going.CancelAsync();
        Assert.Multiple(async () =>
        {
            Assert.That((await session.EndAsync()).StatusCode, Is.EqualTo(StatusCode.OK));
            // Connect says so too: the agent may not be reading the session's call (input held up).
            Assert.That(await agent.NextClosedSessionAsync(), Is.EqualTo(open.SessionId));
        });
        await session.DisposeAsync();
        await agent.DisposeAsync();
    }

    [Test]
    public async Task An_agent_that_ends_the_session_without_an_exit_code_ends_the_call_UNAVAILABLE()
    {
        var (agent, taskId) = await RunningTaskAsync();
        using var call = Host.Tasks.ExecuteCommand();
        await call.RequestStream.WriteAsync(Start(taskId));
        var (_, session) = await agent.AcceptSessionAsync();
        await session.CompleteAsync();
        var (_, status) = await ReadAllAsync(call.ResponseStream, call.GetStatus);
        Assert.That((status.StatusCode, status.Detail), Is.EqualTo((StatusCode.Unavailable, "node n1's agent ended the session before the command's exit code")));
        await session.DisposeAsync();
        await agent.DisposeAsync();
    }

    [Test]
    public async Task The_nodes_agent_disconnecting_ends_the_call_with_UNAVAILABLE_naming_the_node()
    {
        var (agent, taskId) = await RunningTaskAsync();
        using var call = Host.Tasks.ExecuteCommand();
        await call.RequestStream.WriteAsync(Start(taskId));
        var (_, session) = await agent.AcceptSessionAsync();
        // Output that reached the client: the scheduler has joined the session (else the node going
        // first would leave the hello nothing to join, and the agent's call would end NOT_FOUND).
        await session.StdoutAsync("started\n");
        await NextAsync(call.ResponseStream);
        await agent.DisposeAsync();
        var (_, status) = await ReadAllAsync(call.ResponseStream, call.GetStatus);
        Assert.Multiple(async () =>
        {
            Assert.That((status.StatusCode, status.Detail), Is.EqualTo((StatusCode.Unavailable, "node n1 disconnected")));
            Assert.That((await session.EndAsync()).StatusCode, Is.EqualTo(StatusCode.OK), "the session's call is ended too");
        });
        await session.DisposeAsync();
    }

    [TestCase(false, true, "stdin", "stdin: the command was started without interactive: it takes no standard input")]
    [TestCase(true, false, "resize", "resize: the command was started without tty: it has no terminal to resize")]
    [TestCase(true, true, "start", "start: only the first message may be start")]
    [TestCase(true, true, "empty", "body: empty or unknown message: send stdin, resize or closeStdin")]
    [TestCase(true, true, "badsize", "resize: rows and columns must be between 1 and 65535, not 0 x 80")]
    public async Task Input_the_command_cannot_take_ends_the_call_INVALID_ARGUMENT_and_the_session(bool interactive, bool tty, string input, string detail)
    {
        var (agent, taskId) = await RunningTaskAsync();
        using var call = Host.Tasks.ExecuteCommand();
        await call.RequestStream.WriteAsync(Start(taskId, tty, interactive));
        var (_, session) = await agent.AcceptSessionAsync();
        await call.RequestStream.WriteAsync(input switch
        {
            "stdin" => new ExecuteCommandRequest { Stdin = ByteString.CopyFromUtf8("x") },
            "resize" => new ExecuteCommandRequest { Resize = new TerminalSize { Rows = 1, Columns = 1 } },
            "start" => Start(taskId),
            "badsize" => new ExecuteCommandRequest { Resize = new TerminalSize { Rows = 0, Columns = 80 } },
            _ => new ExecuteCommandRequest(),
        });
        var (_, status) = await ReadAllAsync(call.ResponseStream, call.GetStatus);
        Assert.Multiple(async () =>
        {
            Assert.That((status.StatusCode, status.Detail), Is.EqualTo((StatusCode.InvalidArgument, detail)));
            Assert.That((await session.EndAsync()).StatusCode, Is.EqualTo(StatusCode.OK), "nothing is left running");
        });
        await session.DisposeAsync();
        await agent.DisposeAsync();
    }

    [Test]
    public async Task Each_session_is_logged_with_task_container_token_and_exit_code_but_never_its_arguments_or_output()
    {
        UseHost(path => new SchedulerHost(path, logLevel: "Information"));
        var (agent, taskId) = await RunningTaskAsync();
        using var call = Host.Tasks.ExecuteCommand();
        await call.RequestStream.WriteAsync(Start(taskId, interactive: true, command: ["sh", "-c", "echo s3cr3t-argument"]));
        var (open, session) = await agent.AcceptSessionAsync();
        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Stdin = ByteString.CopyFromUtf8("s3cr3t-input") });
        await session.NextInputAsync();
        await session.StdoutAsync("s3cr3t-output");
        await session.ExitedAsync(7);
        await ReadAllAsync(call.ResponseStream, call.GetStatus);
        await session.EndAsync();
        var lines = Host.Logs.Lines.Where(l => l.Contains(open.SessionId, StringComparison.Ordinal)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(lines, Has.Count.EqualTo(2));
            Assert.That(lines[0], Does.Contain($"opened in task {taskId}, container app, for token bootstrap"));
            Assert.That(lines[1], Does.Contain($"in task {taskId}, container app, for token bootstrap ended: exited, exit code 7"));
            Assert.That(Host.Logs.All, Does.Not.Contain("s3cr3t"));
        });
        await session.DisposeAsync();
        await agent.DisposeAsync();
    }
}
