using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Tests.Security;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// With certificates (the scheduler's default), a session is joined only by the agent of the node it
/// was asked of, as its certificate says: another node that learned the id is refused, and the session
/// still waits for its own node.
/// </summary>
internal sealed class TaskSessionIdentityTests
{
    private string _directory = "";
    private SchedulerHost _host = null!;
    private readonly List<JoiningNode> _nodes = [];

    [SetUp]
    public void Start()
    {
        _directory = Directory.CreateTempSubdirectory("orchestrator-sessions-").FullName;
        _host = new SchedulerHost(Path.Combine(_directory, "scheduler.db"), certificates: true);
        _ = _host.Server;
    }

    [TearDown]
    public void Stop()
    {
        _nodes.ForEach(n => n.Dispose());
        _host.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task<(JoiningNode Node, SimulatedAgent Agent)> JoinAsync(string name)
    {
        var node = new JoiningNode(_host, name);
        _nodes.Add(node);
        await node.JoinAsync(File.ReadAllText(Path.Combine(_directory, "join.token")).Trim());
        return (node, await node.ConnectAsync());
    }

    [Test]
    public async Task Only_the_node_asked_joins_the_session()
    {
        var (_, owner) = await JoinAsync("n1");
        await _host.TaskDefinitions.RegisterTaskDefinitionAsync(SchedulerTest.WebDefinitionFor("web"));
        var taskId = (await _host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks.Single().TaskId;
        await owner.NextCommandAsync();
        await owner.ReportAsync(taskId, TaskStatus.Running);
        var (_, other) = await JoinAsync("n2");

        using var call = _host.Tasks.GetTaskLogs(new GetTaskLogsRequest { Task = taskId });
        var open = await owner.NextOpenSessionAsync();
        await using var posing = await other.OpenSessionAsync(open.SessionId);
        var refused = await posing.EndAsync();
        await using var bare = await owner.OpenSessionAsync(open.SessionId, new AgentService.AgentServiceClient(_host.ChannelWith(null)));
        var anonymous = await bare.EndAsync();

        await using var session = await owner.OpenSessionAsync(open.SessionId);
        await session.LinesAsync("for n1's client");
        await session.CompleteAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var lines = new List<string>();
        while (await call.ResponseStream.MoveNext(timeout.Token))
        {
            lines.AddRange(call.ResponseStream.Current.Lines.Select(l => l.Text));
        }

        Assert.Multiple(() =>
        {
            Assert.That((refused.StatusCode, refused.Detail), Is.EqualTo((StatusCode.PermissionDenied,
                "hello.sessionId: the session was asked of node \"n1\" of cluster \"default\", not of this agent's node \"n2\" of \"default\"")));
            Assert.That((anonymous.StatusCode, anonymous.Detail), Is.EqualTo((StatusCode.Unauthenticated,
                "certificate: a client certificate is required: the agent must join the cluster with a join token first")));
            Assert.That(lines, Is.EqualTo(new[] { "for n1's client" }), "the session still waited for its own node");
            Assert.That(call.GetStatus().StatusCode, Is.EqualTo(StatusCode.OK));
        });
        await other.DisposeAsync();
        await owner.DisposeAsync();
    }
}
