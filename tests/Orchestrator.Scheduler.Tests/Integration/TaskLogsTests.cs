using Grpc.Core;
using Google.Protobuf.WellKnownTypes;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// GetTaskLogs through the scheduler: the node's agent is asked on its Connect stream, opens a Session
/// of its own, and its messages reach the client in order, the first naming the container. How the
/// call ends says why: the logs ended (OK), the agent failed (its status), the node went (UNAVAILABLE).
/// </summary>
internal sealed class TaskLogsTests : TaskSessionTest
{
    [Test]
    public async Task Lines_reach_the_client_in_order_and_the_first_message_names_the_container()
    {
        var (agent, taskId) = await RunningTaskAsync();
        var since = Timestamp.FromDateTimeOffset(Host.Clock.GetUtcNow().AddMinutes(-5));
        using var call = Host.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = taskId, Tail = 5, Since = since, Timestamps = true });
        var (open, session) = await agent.AcceptSessionAsync();
        await session.LinesAsync("one", "two");
        await session.LinesAsync("three");
        await session.CompleteAsync();
        var (messages, status) = await ReadAllAsync(call.ResponseStream, call.GetStatus);
        Assert.Multiple(async () =>
        {
            Assert.That((open.TaskId, open.Container, open.KindCase), Is.EqualTo((taskId, "app", OpenSession.KindOneofCase.Logs)));
            Assert.That(open.SessionId, Does.Match("^[0-9a-f]{32}$"), "128 random bits");
            Assert.That((open.Logs.Follow, open.Logs.HasTail, open.Logs.Tail, open.Logs.Since, open.Logs.Timestamps), Is.EqualTo((false, true, 5, since, true)));
            Assert.That(status.StatusCode, Is.EqualTo(StatusCode.OK), status.Detail);
            Assert.That(messages.Select(m => m.Container), Is.EqualTo(new[] { "app", "" }));
            Assert.That(messages.SelectMany(m => m.Lines).Select(l => l.Text), Is.EqualTo(new[] { "one", "two", "three" }));
            Assert.That((await session.EndAsync()).StatusCode, Is.EqualTo(StatusCode.OK), "the agent's call ends with the client's");
        });
        await session.DisposeAsync();
        await agent.DisposeAsync();
    }

    [Test]
    public async Task A_followed_log_streams_lines_as_they_come_and_ends_when_the_agent_completes()
    {
        var (agent, taskId) = await RunningTaskAsync();
        using var call = Host.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = taskId, Follow = true });
        var (open, session) = await agent.AcceptSessionAsync();
        await session.LinesAsync("first");
        var first = await NextAsync(call.ResponseStream);
        await session.LinesAsync("second");
        var second = await NextAsync(call.ResponseStream);
        await session.CompleteAsync(); // the container stopped
        var (rest, status) = await ReadAllAsync(call.ResponseStream, call.GetStatus);
        Assert.Multiple(() =>
        {
            Assert.That(open.Logs.Follow, Is.True);
            Assert.That(open.Logs.HasTail, Is.False, "no tail asked: all lines");
            Assert.That((first.Container, first.Lines.Single().Text), Is.EqualTo(("app", "first")), "read before the agent sent the next");
            Assert.That(second.Lines.Single().Text, Is.EqualTo("second"));
            Assert.That((rest, status.StatusCode), Is.EqualTo((new List<GetTaskLogsResponse>(), StatusCode.OK)));
        });
        await session.DisposeAsync();
        await agent.DisposeAsync();
    }

    [Test]
    public async Task A_log_without_lines_still_names_its_container_once()
    {
        var (agent, taskId) = await RunningTaskAsync();
        using var call = Host.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = taskId, Tail = 0 });
        var (_, session) = await agent.AcceptSessionAsync();
        await session.CompleteAsync();
        var (messages, status) = await ReadAllAsync(call.ResponseStream, call.GetStatus);
        Assert.Multiple(() =>
        {
            Assert.That(status.StatusCode, Is.EqualTo(StatusCode.OK));
            Assert.That(messages.Select(m => (m.Container, m.Lines.Count)), Is.EqualTo(new[] { ("app", 0) }));
        });
        await session.DisposeAsync();
        await agent.DisposeAsync();
    }

    [TestCase("", "main", TestName = "Without a container the task's first essential one is read")]
    [TestCase("sidecar", "sidecar", TestName = "A named container is read")]
    public async Task The_container_is_the_one_named_or_the_first_essential_one(string asked, string read)
    {
        var (agent, taskId) = await RunningTaskAsync(TwoContainers());
        using var call = Host.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = taskId, Container = asked });
        var (open, session) = await agent.AcceptSessionAsync();
        await session.LinesAsync("x");
        await session.CompleteAsync();
        var (messages, _) = await ReadAllAsync(call.ResponseStream, call.GetStatus);
        Assert.That((open.Container, messages[0].Container), Is.EqualTo((read, read)));
        await session.DisposeAsync();
        await agent.DisposeAsync();
    }

    [Test]
    public async Task The_client_going_ends_the_agents_session_call()
    {
        var (agent, taskId) = await RunningTaskAsync();
        using var going = new CancellationTokenSource();
        using var call = Host.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = taskId, Follow = true }, cancellationToken: going.Token);
        var (_, session) = await agent.AcceptSessionAsync();
        await session.LinesAsync("line");
        await NextAsync(call.ResponseStream);
        await going.CancelAsync();
        var ended = await session.EndAsync();
        Assert.That(ended.StatusCode, Is.EqualTo(StatusCode.OK), "the scheduler returned from the agent's call: the agent stops reading");
        await session.DisposeAsync();
        await agent.DisposeAsync();
    }

    [Test]
    public async Task The_nodes_agent_disconnecting_ends_the_call_with_UNAVAILABLE_naming_the_node()
    {
        var (agent, taskId) = await RunningTaskAsync();
        using var call = Host.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = taskId, Follow = true });
        var (_, session) = await agent.AcceptSessionAsync();
        await session.LinesAsync("line");
        await NextAsync(call.ResponseStream);
        await agent.DisposeAsync(); // its Connect stream ends
        var (rest, status) = await ReadAllAsync(call.ResponseStream, call.GetStatus);
        Assert.Multiple(async () =>
        {
            Assert.That(rest, Is.Empty);
            Assert.That((status.StatusCode, status.Detail), Is.EqualTo((StatusCode.Unavailable, "node n1 disconnected")));
            Assert.That((await session.EndAsync()).StatusCode, Is.EqualTo(StatusCode.OK), "the session's call is ended too");
        });
        await session.DisposeAsync();
    }

    [Test]
    public async Task The_session_call_breaking_off_ends_the_call_with_UNAVAILABLE_naming_the_node()
    {
        var (agent, taskId) = await RunningTaskAsync();
        using var call = Host.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = taskId, Follow = true });
        var (_, session) = await agent.AcceptSessionAsync();
        await session.LinesAsync("line");
        await NextAsync(call.ResponseStream);
        session.Abort();
        var (_, status) = await ReadAllAsync(call.ResponseStream, call.GetStatus);
        Assert.That((status.StatusCode, status.Detail), Is.EqualTo((StatusCode.Unavailable, "node n1 disconnected")));
        await agent.DisposeAsync();
    }

    [Test]
    public async Task The_agents_failure_ends_the_call_with_its_status_and_message()
    {
        var (agent, taskId) = await RunningTaskAsync();
        using var call = Host.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = taskId });
        var (_, session) = await agent.AcceptSessionAsync();
        await session.FailAsync(StatusCode.NotFound, "container: app of this task is gone from node n1");
        var (messages, status) = await ReadAllAsync(call.ResponseStream, call.GetStatus);
        Assert.Multiple(() =>
        {
            Assert.That(messages, Is.Empty);
            Assert.That((status.StatusCode, status.Detail), Is.EqualTo((StatusCode.NotFound, "container: app of this task is gone from node n1")));
        });
        await session.DisposeAsync();
        await agent.DisposeAsync();
    }

    [Test]
    public async Task An_agent_that_does_not_open_the_session_in_time_ends_the_call_UNAVAILABLE_and_cannot_open_it_later()
    {
        var (agent, taskId) = await RunningTaskAsync();
        using var call = Host.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = taskId });
        var open = await agent.NextOpenSessionAsync();
        Host.Clock.Advance(TimeSpan.FromSeconds(10));
        var (_, status) = await ReadAllAsync(call.ResponseStream, call.GetStatus);
        await using var late = await agent.OpenSessionAsync(open.SessionId);
        var refused = await late.EndAsync();
        Assert.Multiple(() =>
        {
            Assert.That((status.StatusCode, status.Detail), Is.EqualTo((StatusCode.Unavailable, "node n1's agent did not open the session within 10 s")));
            Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.NotFound));
            Assert.That(refused.Detail, Does.StartWith($"hello.sessionId: no session \"{open.SessionId}\" is waiting"));
        });
        await agent.DisposeAsync();
    }

    [Test]
    public async Task A_hello_naming_no_session_is_refused()
    {
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        await using var session = await agent.OpenSessionAsync(new string('a', 32));
        var status = await session.EndAsync();
        Assert.That((status.StatusCode, status.Detail), Is.EqualTo((StatusCode.NotFound,
            $"hello.sessionId: no session \"{new string('a', 32)}\" is waiting to be opened (unknown, opened already, or given up: the agent has 10 s)")));
    }

    [Test]
    public async Task A_session_is_opened_once()
    {
        var (agent, taskId) = await RunningTaskAsync();
        using var call = Host.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = taskId, Follow = true });
        var (open, session) = await agent.AcceptSessionAsync();
        await session.LinesAsync("line");
        await NextAsync(call.ResponseStream);
        await using var second = await agent.OpenSessionAsync(open.SessionId);
        var refused = await second.EndAsync();
        await session.CompleteAsync();
        var (_, status) = await ReadAllAsync(call.ResponseStream, call.GetStatus);
        Assert.Multiple(() =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.NotFound), "a second hello with the same id joins nothing");
            Assert.That(status.StatusCode, Is.EqualTo(StatusCode.OK), "the first session went on");
        });
        await session.DisposeAsync();
        await agent.DisposeAsync();
    }

    [Test]
    public async Task A_first_message_other_than_hello_is_refused()
    {
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        using var call = new AgentService.AgentServiceClient(Host.Channel).Session();
        await call.RequestStream.WriteAsync(new AgentSessionMessage { Logs = new GetTaskLogsResponse() });
        await using var session = new SimulatedSession(call);
        var status = await session.EndAsync();
        Assert.That((status.StatusCode, status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "hello: the first message of a session must be hello")));
    }
    [Test]
    public async Task A_reader_that_reads_nothing_does_not_hold_back_the_nodes_commands()
    {
        var (agent, taskId) = await RunningTaskAsync();
        using var call = Host.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = taskId, Follow = true });
        var (_, session) = await agent.AcceptSessionAsync();
        var line = new string('x', 16 * 1024);

        // The agent writes far more than the client reads (nothing): its session's writes may wait, its Connect stream must not.
        using var stop = new CancellationTokenSource(Patience);
        var flood = Task.Run(async () =>
        {
            for (var i = 0; i < 1000 && !stop.IsCancellationRequested; i++)
            {
                await session.LinesAsync(line, line, line, line);
            }
        });
        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
        var start = await agent.NextCommandAsync();
        Assert.That(start.StartTask.TaskId, Is.EqualTo(run.Tasks.Single().TaskId), "the start command came through while the log backed up");

        await stop.CancelAsync();
        session.Abort();
        try
        {
            await flood.WaitAsync(Patience);
        }
        catch (RpcException)
        {
            // Its write was cut off by the abort.
        }
        catch (ObjectDisposedException)
        {
            // Or found the call disposed.
        }

        await session.DisposeAsync();
        await agent.DisposeAsync();
    }
}
