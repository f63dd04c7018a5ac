using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// Logs and exec calls the scheduler refuses before it asks any agent: each with a status whose message
/// names the field, and no OpenSession sent to the node.
/// </summary>
internal sealed class TaskSessionBadInputTests : TaskSessionTest
{
    private const string Unknown = "0123456789abcdef0123456789abcdef";

    private async Task<Status> LogsStatusAsync(GetTaskLogsRequest request)
    {
        using var call = Host.Tasks.GetTaskLogs(request);
        return (await ReadAllAsync(call.ResponseStream, call.GetStatus)).Status;
    }

    private async Task<Status> ExecStatusAsync(params ExecuteCommandRequest[] messages)
    {
        using var call = Host.Tasks.ExecuteCommand();
        try
        {
            foreach (var message in messages)
            {
                await call.RequestStream.WriteAsync(message);
            }

            await call.RequestStream.CompleteAsync();
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException)
        {
            // The scheduler refused the first message and ended the call before the rest was written:
            // its status is read below, as for any other refusal.
        }

        return (await ReadAllAsync(call.ResponseStream, call.GetStatus)).Status;
    }

    private static ExecuteCommandRequest Exec(string taskId, string container = "", params string[] command)
    {
        var start = new ExecStart { Task = taskId, Container = container };
        start.Command.AddRange(command);
        return new ExecuteCommandRequest { Start = start };
    }

    [Test]
    public async Task Bad_logs_requests_get_a_status_naming_the_field()
    {
        var (agent, taskId) = await RunningTaskAsync();
        var future = Timestamp.FromDateTimeOffset(Host.Clock.GetUtcNow().AddMinutes(1));
        var cases = new (GetTaskLogsRequest Request, StatusCode Code, string Detail)[]
        {
            (new() { }, StatusCode.InvalidArgument, "task: task id is required"),
            (new() { Task = "web-1" }, StatusCode.InvalidArgument, "task: \"web-1\" is not a task id (32 lowercase hex digits)"),
            (new() { Task = Unknown }, StatusCode.NotFound, $"task: task \"{Unknown}\" does not exist in cluster \"default\""),
            (new() { Cluster = "nope", Task = taskId }, StatusCode.NotFound, "cluster: cluster \"nope\" does not exist"),
            (new() { Task = taskId, Tail = -1 }, StatusCode.InvalidArgument, "tail: must be 0 or more, not -1"),
            (new() { Task = taskId, Since = future }, StatusCode.InvalidArgument,
                $"since: {future.ToDateTimeOffset():O} is in the future (now is {Host.Clock.GetUtcNow():O})"),
            (new() { Task = taskId, Since = new Timestamp { Seconds = 1, Nanos = -1 } }, StatusCode.InvalidArgument, "since: is not a valid timestamp"),
            (new() { Task = taskId, Container = "db" }, StatusCode.NotFound, $"container: task \"{taskId}\" has no container \"db\"; its containers: app"),
        };
        foreach (var (request, code, detail) in cases)
        {
            var status = await LogsStatusAsync(request);
            Assert.That((status.StatusCode, status.Detail), Is.EqualTo((code, detail)), request.ToString());
        }

        Assert.That((await agent.HeartbeatAsync()).Where(m => m.BodyCase == SchedulerMessage.BodyOneofCase.OpenSession), Is.Empty, "no agent was asked");
        await agent.DisposeAsync();
    }

    [Test]
    public async Task Bad_exec_starts_get_a_status_naming_the_field()
    {
        var (agent, taskId) = await RunningTaskAsync();
        var cases = new (ExecuteCommandRequest[] Messages, StatusCode Code, string Detail)[]
        {
            ([], StatusCode.InvalidArgument, "start: the stream ended before its first message, which must be start"),
            ([new() { CloseStdin = true }], StatusCode.InvalidArgument, "start: the first message must be start, not closeStdin"),
            ([Exec(taskId)], StatusCode.InvalidArgument, "start.command: is required: the program and its arguments, e.g. [\"sh\", \"-c\", \"...\"]"),
            ([Exec(taskId, "", "", "x")], StatusCode.InvalidArgument, "start.command[0]: the program to run must not be empty"),
            ([Exec("", "", "sh")], StatusCode.InvalidArgument, "start.task: task id is required"),
            ([Exec(Unknown, "", "sh")], StatusCode.NotFound, $"start.task: task \"{Unknown}\" does not exist in cluster \"default\""),
            ([Exec(taskId, "db", "sh")], StatusCode.NotFound, $"start.container: task \"{taskId}\" has no container \"db\"; its containers: app"),
            ([new() { Start = new ExecStart { Task = taskId, Command = { "sh" }, Size = new TerminalSize { Rows = 1, Columns = 1 } } }],
                StatusCode.InvalidArgument, "start.size: is for a terminal: set tty too, or leave size out"),
        };
        foreach (var (messages, code, detail) in cases)
        {
            var status = await ExecStatusAsync(messages);
            Assert.That((status.StatusCode, status.Detail), Is.EqualTo((code, detail)), string.Join(", ", messages.Select(m => m.ToString())));
        }

        Assert.That((await agent.HeartbeatAsync()).Where(m => m.BodyCase == SchedulerMessage.BodyOneofCase.OpenSession), Is.Empty, "no agent was asked");
        await agent.DisposeAsync();
    }

    [Test]
    public async Task Exec_needs_a_RUNNING_task_and_says_which_status_it_has()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var taskId = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks.Single().TaskId;
        await agent.NextCommandAsync();
        var provisioning = await ExecStatusAsync(Exec(taskId, "", "sh"));
        await agent.ReportAsync(taskId, TaskStatus.Stopped, exitCode: 0);
        var stopped = await ExecStatusAsync(Exec(taskId, "", "sh"));
        Assert.Multiple(() =>
        {
            Assert.That((provisioning.StatusCode, provisioning.Detail), Is.EqualTo((StatusCode.FailedPrecondition,
                $"start.task: task \"{taskId}\" is PROVISIONING: commands run only in a RUNNING task")));
            Assert.That((stopped.StatusCode, stopped.Detail), Is.EqualTo((StatusCode.FailedPrecondition,
                $"start.task: task \"{taskId}\" is STOPPED: commands run only in a RUNNING task")));
        });
    }

    [Test]
    public async Task Logs_and_exec_of_a_task_whose_node_has_no_agent_are_UNAVAILABLE_naming_the_node()
    {
        var (agent, taskId) = await RunningTaskAsync();
        await agent.DisposeAsync();
        await EventuallyAsync(async () => !(await NodeAsync("n1")).AgentConnected, "n1's agent is disconnected");
        var logs = await LogsStatusAsync(new GetTaskLogsRequest { Task = taskId });
        var exec = await ExecStatusAsync(Exec(taskId, "", "sh"));
        var expected = (StatusCode.Unavailable, $"node n1 of task \"{taskId}\" has no agent connected: only its agent can reach the task's containers");
        Assert.Multiple(() =>
        {
            Assert.That((logs.StatusCode, logs.Detail), Is.EqualTo(expected));
            Assert.That((exec.StatusCode, exec.Detail), Is.EqualTo(expected));
        });
    }

    [Test]
    public async Task Logs_of_a_stopped_task_are_still_asked_of_its_node()
    {
        var (agent, taskId) = await RunningTaskAsync();
        await agent.ReportAsync(taskId, TaskStatus.Stopped, exitCode: 0);
        using var call = Host.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = taskId });
        var (_, session) = await agent.AcceptSessionAsync();
        await session.LinesAsync("last words");
        await session.CompleteAsync();
        var (messages, status) = await ReadAllAsync(call.ResponseStream, call.GetStatus);
        Assert.That((status.StatusCode, messages.Single().Lines.Single().Text), Is.EqualTo((StatusCode.OK, "last words")));
        await session.DisposeAsync();
        await agent.DisposeAsync();
    }

    [Test]
    public async Task A_read_only_token_may_read_logs_but_not_exec()
    {
        var (agent, taskId) = await RunningTaskAsync();
        var reader = (await new TokenService.TokenServiceClient(Host.Channel).CreateTokenAsync(new CreateTokenRequest { Name = "viewer", Role = "read-only" })).Secret;
        var tasks = new TaskService.TaskServiceClient(Host.ChannelWith(reader));
        using (var logs = tasks.GetTaskLogs(new GetTaskLogsRequest { Task = taskId }))
        {
            var (_, session) = await agent.AcceptSessionAsync();
            await session.LinesAsync("visible");
            await session.CompleteAsync();
            var (messages, status) = await ReadAllAsync(logs.ResponseStream, logs.GetStatus);
            Assert.That((status.StatusCode, messages.Single().Lines.Single().Text), Is.EqualTo((StatusCode.OK, "visible")));
            await session.DisposeAsync();
        }

        using var exec = tasks.ExecuteCommand();
        var (_, refused) = await ReadAllAsync(exec.ResponseStream, exec.GetStatus);
        Assert.Multiple(async () =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(refused.Detail, Does.StartWith("orchestrator.v1.TaskService/ExecuteCommand needs the operator role; token tok-").And.EndWith(" is read-only"));
            Assert.That((await agent.HeartbeatAsync()).Where(m => m.BodyCase == SchedulerMessage.BodyOneofCase.OpenSession), Is.Empty, "no exec was asked");
        });
        await agent.DisposeAsync();
    }
}
