using System.Net;
using System.Threading.Channels;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Agent;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Security;
using Orchestrator.Agent.Sessions;
using Orchestrator.Agent.Tasks;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>
/// The agent's side of task sessions as a whole: the session runner on the real Docker engine, over
/// real gRPC (its own h2c connection) to a stand-in for the scheduler's AgentService/Session endpoint.
/// </summary>
internal sealed class AgentSessionEndToEndTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly List<string> _containers = [];
    private readonly string _node = $"session-node-{Guid.NewGuid():N}"[..24];
    private WebApplication _scheduler = null!;
    private SchedulerStandIn _standIn = null!;
    private DockerRuntime _runtime = null!;
    private SessionRunner _runner = null!;

    /// <summary>Hands each Session call to the test, and holds it open until the test ends it.</summary>
    private sealed class SchedulerStandIn : AgentService.AgentServiceBase
    {
        public Channel<SessionCall> Calls { get; } = Channel.CreateUnbounded<SessionCall>();

        public override async Task Session(IAsyncStreamReader<AgentSessionMessage> requestStream, IServerStreamWriter<SchedulerSessionMessage> responseStream, ServerCallContext context)
        {
            var call = new SessionCall(requestStream, responseStream);
            Calls.Writer.TryWrite(call);
            await call.Ended.Task.WaitAsync(context.CancellationToken);
        }
    }

    private sealed class SessionCall(IAsyncStreamReader<AgentSessionMessage> fromAgent, IServerStreamWriter<SchedulerSessionMessage> toAgent)
    {
        public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IServerStreamWriter<SchedulerSessionMessage> ToAgent => toAgent;

        /// <summary>The agent's next message; null when it has ended its side.</summary>
        public async Task<AgentSessionMessage?> NextAsync()
        {
            using var bound = new CancellationTokenSource(Bound);
            return await fromAgent.MoveNext(bound.Token) ? fromAgent.Current : null;
        }

        public async Task<List<AgentSessionMessage>> RestAsync()
        {
            var rest = new List<AgentSessionMessage>();
            while (await NextAsync() is { } message)
            {
                rest.Add(message);
            }

            return rest;
        }
    }

    [SetUp]
    public async Task SetUp()
    {
        Docker.RequireReady();
        _standIn = new SchedulerStandIn();
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(_standIn);
        _scheduler = builder.Build();
        _scheduler.MapGrpcService<SchedulerStandIn>();
        await _scheduler.StartAsync();
        var address = _scheduler.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();

        var options = new AgentOptions { SchedulerAddress = address };
        var credentials = new NodeCredentialsHolder(null);
        var scheduler = new Agent.Connection.SchedulerChannel(options, AgentSecurity.Insecure, credentials, NullLogger<Agent.Connection.SchedulerChannel>.Instance);
        var channel = new SessionChannel(scheduler, AgentSecurity.Insecure, credentials, NullLogger<SessionChannel>.Instance);
        _runtime = new DockerRuntime("unix:///var/run/docker.sock");
        _runner = new SessionRunner(channel, _runtime, new AgentIdentity("default", _node, "127.0.0.1"), NullLogger<SessionRunner>.Instance);
    }

    [TearDown]
    public async Task TearDown()
    {
        await _runner.DisposeAsync();
        _runtime.Dispose();
        await _scheduler.StopAsync();
        await _scheduler.DisposeAsync();
        foreach (var id in _containers)
        {
            Docker.Run("rm", "-f", id);
        }
    }

    private string RunTaskContainer(string taskId, params string[] command)
    {
        var (code, output) = Docker.Run(["run", "-d", "--label", $"orchestrator.task-id={taskId}", "--label", "orchestrator.container=web", "--label", $"orchestrator.node={_node}", "-e", "X=secret-free value", Docker.TestImage, .. command]);
        Assert.That(code, Is.Zero, $"docker run: {output}");
        _containers.Add(output.Trim());
        return output.Trim();
    }

    private async Task<SessionCall> OpenAsync(OpenSession open)
    {
        _runner.Open(open, CancellationToken.None);
        var call = await _standIn.Calls.Reader.ReadAsync().AsTask().WaitAsync(Bound);
        Assert.That((await call.NextAsync())?.Hello?.SessionId, Is.EqualTo(open.SessionId), "hello first");
        return call;
    }

    private Task SessionsEndAsync() => Polling.UntilAsync(() => Task.FromResult(_runner.Count == 0), "the agent's sessions end", Bound);

    [Test]
    public async Task Followed_logs_flow_over_the_session_while_the_container_writes_and_stop_when_the_scheduler_ends_the_call()
    {
        var taskId = Guid.NewGuid().ToString("N");
        var id = RunTaskContainer(taskId, "sh", "-c", "echo first; echo oops >&2; while [ ! -f /tmp/go ]; do sleep 0.1; done; echo second; exec sleep 3600");
        var call = await OpenAsync(new OpenSession { SessionId = "logs-1", TaskId = taskId, Container = "web", Logs = new TaskLogsSession { Follow = true, Timestamps = true } });

        var lines = new List<LogLine>();
        Assert.That((await call.NextAsync())!.Logs.Container, Is.EqualTo("web"));
        while (lines.Count < 2 && await call.NextAsync() is { } message)
        {
            lines.AddRange(message.Logs.Lines);
        }

        Assert.That(Docker.Run("exec", id, "touch", "/tmp/go").ExitCode, Is.Zero);
        while (lines.Count < 3 && await call.NextAsync() is { } message)
        {
            lines.AddRange(message.Logs.Lines);
        }

        call.Ended.SetResult();
        await SessionsEndAsync();

        Assert.Multiple(() =>
        {
            Assert.That(lines.Select(l => (l.Stream, l.Text)).OrderBy(l => l.Text), Is.EqualTo(new[]
            {
                (LogStream.Stdout, "first"), (LogStream.Stderr, "oops"), (LogStream.Stdout, "second"),
            }));
            Assert.That(lines.All(l => l.Time is not null), Is.True, "timestamps were asked");
            Assert.That(Docker.Inspect(id, "{{.State.Running}}"), Is.EqualTo("true"), "the lines came while the container ran");
        });
    }

    [Test]
    public async Task Logs_of_a_task_whose_containers_are_gone_fail_with_not_found()
    {
        var call = await OpenAsync(new OpenSession { SessionId = "logs-2", TaskId = "gone-task", Container = "web", Logs = new TaskLogsSession() });

        var rest = await call.RestAsync();

        Assert.Multiple(() =>
        {
            Assert.That(rest.Single().Failed.StatusCode, Is.EqualTo((int)StatusCode.NotFound));
            Assert.That(rest.Single().Failed.Message, Is.EqualTo($"container web of task gone-task is gone from node {_node}"));
        });
    }

    [Test]
    public async Task Exec_over_the_session_returns_output_and_exit_code_3()
    {
        var taskId = Guid.NewGuid().ToString("N");
        RunTaskContainer(taskId, "sleep", "3600");
        var call = await OpenAsync(new OpenSession { SessionId = "exec-1", TaskId = taskId, Container = "web", Exec = new ExecSession { Command = { "sh", "-c", "echo $X; exit 3" } } });

        var rest = await call.RestAsync();

        Assert.Multiple(() =>
        {
            Assert.That(string.Concat(rest.Where(m => m.Exec.BodyCase == ExecuteCommandResponse.BodyOneofCase.Stdout).Select(m => m.Exec.Stdout.ToStringUtf8())), Is.EqualTo("secret-free value\n"));
            Assert.That(rest.Last().Exec.Exited.ExitCode, Is.EqualTo(3), "exited is last");
        });
    }

    [Test]
    public async Task An_interactive_exec_through_a_pty_over_the_session()
    {
        var taskId = Guid.NewGuid().ToString("N");
        RunTaskContainer(taskId, "sleep", "3600");
        var call = await OpenAsync(new OpenSession { SessionId = "exec-2", TaskId = taskId, Container = "web", Exec = new ExecSession { Command = { "sh" }, Tty = true, Interactive = true, Size = new TerminalSize { Rows = 40, Columns = 132 } } });

        await call.ToAgent.WriteAsync(new SchedulerSessionMessage { Exec = new ExecuteCommandRequest { Stdin = Google.Protobuf.ByteString.CopyFromUtf8("stty size; echo hi\n") } });
        await call.ToAgent.WriteAsync(new SchedulerSessionMessage { Exec = new ExecuteCommandRequest { Stdin = Google.Protobuf.ByteString.CopyFromUtf8("exit 5\n") } });
        var rest = await call.RestAsync();
        var output = string.Concat(rest.Where(m => m.Exec.BodyCase == ExecuteCommandResponse.BodyOneofCase.Stdout).Select(m => m.Exec.Stdout.ToStringUtf8()));

        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("40 132"));
            Assert.That(output, Does.Contain("\r\nhi\r\n"));
            Assert.That(rest.Last().Exec.Exited.ExitCode, Is.EqualTo(5));
        });
    }

    [Test]
    public async Task A_scheduler_that_ends_an_exec_session_leaves_no_process_running()
    {
        var taskId = Guid.NewGuid().ToString("N");
        var id = RunTaskContainer(taskId, "sleep", "3600");
        var call = await OpenAsync(new OpenSession { SessionId = "exec-3", TaskId = taskId, Container = "web", Exec = new ExecSession { Command = { "sleep", "600" } } });
        await Polling.UntilAsync(() => Task.FromResult(Docker.Run("top", id, "-o", "pid,args").Output.Contains("sleep 600", StringComparison.Ordinal)), "the exec runs", Bound);

        call.Ended.SetResult();
        await SessionsEndAsync();

        Assert.That(Docker.Run("top", id, "-o", "pid,args").Output, Does.Not.Contain("sleep 600"));
    }

    [Test]
    public async Task Exec_into_a_stopped_task_fails_with_failed_precondition()
    {
        var taskId = Guid.NewGuid().ToString("N");
        var id = RunTaskContainer(taskId, "true");
        Docker.Run("wait", id);
        var call = await OpenAsync(new OpenSession { SessionId = "exec-4", TaskId = taskId, Container = "web", Exec = new ExecSession { Command = { "sh" } } });

        var rest = await call.RestAsync();

        Assert.That(rest.Single().Failed.StatusCode, Is.EqualTo((int)StatusCode.FailedPrecondition));
    }
}
