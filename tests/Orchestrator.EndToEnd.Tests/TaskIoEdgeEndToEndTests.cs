using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>
/// The edges of task logs and exec through the scheduler, with real processes on the real engine
/// (the main paths are in <see cref="TaskSessionEndToEndTests"/>): containers gone from the node, a
/// client that half-closes its side, a terminal resized while the command runs.
/// </summary>
internal sealed class TaskIoEdgeEndToEndTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static ContainerDefinition Container(string name, string script) => new()
    {
        Name = name,
        Image = Docker.TestImage,
        Command = { "sh", "-c", script },
        Memory = 32,
        StopTimeoutSeconds = 1,
    };

    private static async Task<Contracts.V1.Task> RunningAsync(Cluster cluster, string family, ContainerDefinition container)
    {
        await cluster.RegisterAsync(family, container);
        var task = await cluster.RunAsync(family);
        return await cluster.WaitForAsync(task.TaskId, TaskStatus.Running);
    }

    private static async Task<List<LogLine>> ReadToEndAsync(AsyncServerStreamingCall<GetTaskLogsResponse> call)
    {
        using var timeout = new CancellationTokenSource(Bound);
        var lines = new List<LogLine>();
        await foreach (var message in call.ResponseStream.ReadAllAsync(timeout.Token))
        {
            lines.AddRange(message.Lines);
        }

        return lines;
    }

    [Test]
    public async Task Logs_of_a_task_whose_containers_are_gone_are_not_found()
    {
        await using var cluster = await Cluster.StartAsync();
        cluster.Agent!.KillHard();
        await cluster.WaitUntilConnectedAsync(0, connected: false);
        await cluster.StartAgentAsync(0, "--Agent:StoppedContainerRetention=00:00:01");
        await cluster.RegisterAsync("brief", Container("app", "echo gone soon"));
        var task = await cluster.WaitForAsync((await cluster.RunAsync("brief")).TaskId, TaskStatus.Stopped);
        await Cluster.EventuallyAsync(() => Task.FromResult(Docker.Run("ps", "-a", "-q", "--filter", $"label=orchestrator.task-id={task.TaskId}").Output.Length == 0),
            "the agent removed the stopped task's container");

        var refused = Assert.ThrowsAsync<RpcException>(async () => await ReadToEndAsync(cluster.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = task.TaskId })))!;
        Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.NotFound), refused.Status.Detail);
    }

    [Test]
    public async Task A_client_that_closes_its_side_still_gets_the_output_apart_and_the_exit_code()
    {
        await using var cluster = await Cluster.StartAsync();
        var definition = Container("app", "sleep 600");
        definition.Environment.Add(new EnvironmentVariable { Name = "X", Value = "from the definition" });
        var task = await RunningAsync(cluster, "execd", definition);

        using var call = cluster.Tasks.ExecuteCommand();
        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Start = new ExecStart { Task = task.TaskId, Command = { "sh", "-c", "echo $X; echo oops >&2; exit 3" } } });
        await call.RequestStream.CompleteAsync();
        var (stdout, stderr, exit) = await ReadExecAsync(call);

        Assert.Multiple(() =>
        {
            Assert.That(stdout, Is.EqualTo("from the definition\n"));
            Assert.That(stderr, Is.EqualTo("oops\n"));
            Assert.That(exit, Is.EqualTo(3));
        });
    }

    [Test]
    public async Task A_terminal_resized_while_the_shell_runs_takes_the_new_size()
    {
        await using var cluster = await Cluster.StartAsync();
        var task = await RunningAsync(cluster, "shell", Container("app", "sleep 600"));

        using var call = cluster.Tasks.ExecuteCommand();
        await call.RequestStream.WriteAsync(new ExecuteCommandRequest
        {
            Start = new ExecStart { Task = task.TaskId, Command = { "sh" }, Tty = true, Interactive = true, Size = new TerminalSize { Rows = 24, Columns = 80 } },
        });
        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Resize = new TerminalSize { Rows = 40, Columns = 120 } });
        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Stdin = ByteString.CopyFromUtf8("stty size; echo hi$((1+1))\n") });
        await call.RequestStream.WriteAsync(new ExecuteCommandRequest { Stdin = ByteString.CopyFromUtf8("exit 5\n") });
        var (stdout, _, exit) = await ReadExecAsync(call);

        Assert.Multiple(() =>
        {
            Assert.That(stdout, Does.Contain("hi2"), "the shell ran the line it was sent");
            Assert.That(stdout, Does.Contain("40 120"), "the terminal took the new size");
            Assert.That(exit, Is.EqualTo(5));
        });
    }

    private static async Task<(string Stdout, string Stderr, int? Exit)> ReadExecAsync(AsyncDuplexStreamingCall<ExecuteCommandRequest, ExecuteCommandResponse> call)
    {
        using var timeout = new CancellationTokenSource(Bound);
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        int? exit = null;
        await foreach (var message in call.ResponseStream.ReadAllAsync(timeout.Token))
        {
            switch (message.BodyCase)
            {
                case ExecuteCommandResponse.BodyOneofCase.Stdout:
                    stdout.Append(message.Stdout.ToStringUtf8());
                    break;
                case ExecuteCommandResponse.BodyOneofCase.Stderr:
                    stderr.Append(message.Stderr.ToStringUtf8());
                    break;
                case ExecuteCommandResponse.BodyOneofCase.Exited:
                    exit = message.Exited.ExitCode;
                    break;
            }
        }

        return (stdout.ToString(), stderr.ToString(), exit);
    }
}
