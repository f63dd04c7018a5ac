using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Cli;

/// <summary>
/// A TaskService of the test's own for task logs and exec, in an in-process gRPC server: the CLI's side
/// of the two calls is tested on what the protos say, apart from the scheduler's side of them. It
/// knows one task, "t1"; it remembers what it was asked.
/// </summary>
internal sealed class FakeTaskService : TaskService.TaskServiceBase
{
    public const string Task = "t1";
    public static readonly DateTime LineTime = new(2026, 12, 5, 10, 0, 0, DateTimeKind.Utc);

    public GetTaskLogsRequest? LogsRequest { get; private set; }
    public ExecStart? ExecStart { get; private set; }
    public List<TerminalSize> Resizes { get; } = [];

    /// <summary>How many StopTask calls arrived; the first <see cref="UnavailableStops"/> are answered UNAVAILABLE.</summary>
    public int StopCalls => _stopCalls;
    public int UnavailableStops { get; set; }
    private int _stopCalls;

    public override Task<StopTaskResponse> StopTask(StopTaskRequest request, ServerCallContext context)
    {
        if (Interlocked.Increment(ref _stopCalls) <= UnavailableStops)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "scheduler: restarting"));
        }

        Known(request.Task);
        return System.Threading.Tasks.Task.FromResult(new StopTaskResponse { Task = new Contracts.V1.Task { TaskId = request.Task, LastStatus = Contracts.V1.TaskStatus.Stopping } });
    }

    /// <summary>Two messages of lines, stdout and stderr mixed, as the proto describes them.</summary>
    public override async Task GetTaskLogs(GetTaskLogsRequest request, IServerStreamWriter<GetTaskLogsResponse> responses, ServerCallContext context)
    {
        LogsRequest = request;
        Known(request.Task);
        LogLine Line(LogStream stream, string text) => new() { Stream = stream, Text = text, Time = request.Timestamps ? Timestamp.FromDateTime(LineTime) : null };
        await responses.WriteAsync(new GetTaskLogsResponse { Container = "app" });
        await responses.WriteAsync(new GetTaskLogsResponse { Container = "app", Lines = { Line(LogStream.Stdout, "hello"), Line(LogStream.Stderr, "oops") } });
        await responses.WriteAsync(new GetTaskLogsResponse { Container = "app", Lines = { Line(LogStream.Stdout, "bye") } });
    }

    /// <summary>"cat": standard input back on stdout until close_stdin; "sh -c 'echo $X; exit 3'" as a shell would; "fail" is refused.</summary>
    public override async Task ExecuteCommand(IAsyncStreamReader<ExecuteCommandRequest> requests, IServerStreamWriter<ExecuteCommandResponse> responses, ServerCallContext context)
    {
        if (!await requests.MoveNext() || requests.Current.BodyCase != ExecuteCommandRequest.BodyOneofCase.Start)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "start: the first message must be start"));
        }

        var start = ExecStart = requests.Current.Start;
        Known(start.Task);
        switch (start.Command[0])
        {
            case "fail":
                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"task: task \"{start.Task}\" is STOPPED"));
            case "cat":
                var input = new MemoryStream();
                while (await requests.MoveNext())
                {
                    var request = requests.Current;
                    if (request.BodyCase == ExecuteCommandRequest.BodyOneofCase.Stdin)
                    {
                        request.Stdin.WriteTo(input);
                    }
                    else if (request.BodyCase == ExecuteCommandRequest.BodyOneofCase.Resize)
                    {
                        Resizes.Add(request.Resize);
                    }
                    else if (request.BodyCase == ExecuteCommandRequest.BodyOneofCase.CloseStdin)
                    {
                        break;
                    }
                }

                await responses.WriteAsync(new ExecuteCommandResponse { Stdout = ByteString.CopyFrom(input.ToArray()) });
                await responses.WriteAsync(new ExecuteCommandResponse { Exited = new ExecExited { ExitCode = 0 } });
                break;
            default:
                // Output split inside a UTF-8 character: the CLI must not garble it.
                var bytes = Encoding.UTF8.GetBytes("héllo\n");
                await responses.WriteAsync(new ExecuteCommandResponse { Stdout = ByteString.CopyFrom(bytes, 0, 2) });
                await responses.WriteAsync(new ExecuteCommandResponse { Stdout = ByteString.CopyFrom(bytes, 2, bytes.Length - 2) });
                await responses.WriteAsync(new ExecuteCommandResponse { Stderr = ByteString.CopyFromUtf8("warning\n") });
                await responses.WriteAsync(new ExecuteCommandResponse { Exited = new ExecExited { ExitCode = 3 } });
                break;
        }
    }

    private static void Known(string task)
    {
        if (task != Task)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"task: no task \"{task}\" in cluster \"default\""));
        }
    }
}

/// <summary>The fake served over an in-process test server.</summary>
internal sealed class FakeTaskServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeTaskServer(WebApplication app, FakeTaskService service)
    {
        _app = app;
        Service = service;
    }

    public FakeTaskService Service { get; }

    public HttpMessageHandler Handler() => _app.GetTestServer().CreateHandler();

    public static async Task<FakeTaskServer> StartAsync()
    {
        var service = new FakeTaskService();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(service);
        var app = builder.Build();
        app.MapGrpcService<FakeTaskService>();
        await app.StartAsync();
        return new FakeTaskServer(app, service);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
