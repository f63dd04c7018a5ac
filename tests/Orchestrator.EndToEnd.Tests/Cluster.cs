using Grpc.Core;
using Grpc.Net.Client;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>A real scheduler process and one real agent process on this host's Docker, for one test.</summary>
internal sealed class Cluster : IAsyncDisposable
{
    private readonly string _directory;
    private readonly int _port;
    private DaemonProcess _scheduler;

    private Cluster(string directory, int port, DaemonProcess scheduler, GrpcChannel channel, string node)
    {
        _directory = directory;
        _port = port;
        _scheduler = scheduler;
        Channel = channel;
        Node = node;
    }

    public GrpcChannel Channel { get; }
    public string Node { get; }
    public DaemonProcess? Agent { get; private set; }
    public TaskService.TaskServiceClient Tasks => new(Channel);
    public TaskDefinitionService.TaskDefinitionServiceClient TaskDefinitions => new(Channel);
    public NodeService.NodeServiceClient Nodes => new(Channel);

    public static async Task<Cluster> StartAsync()
    {
        Docker.RequireReady();
        var directory = Directory.CreateTempSubdirectory("orchestrator-e2e-").FullName;
        var port = DaemonProcess.FreePort();
        var scheduler = DaemonProcess.StartScheduler(Path.Combine(directory, "scheduler.db"), port);
        var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        if (!await scheduler.WaitUntilServingAsync(channel))
        {
            Assert.Fail("the scheduler did not start: " + string.Join("\n", scheduler.StandardError));
        }

        var cluster = new Cluster(directory, port, scheduler, channel, $"e2e-{Guid.NewGuid():N}"[..16]);
        await cluster.StartAgentAsync();
        return cluster;
    }

    /// <summary>Kills the scheduler with SIGKILL and starts it again on the same port and database.</summary>
    public async Task RestartSchedulerAsync()
    {
        _scheduler.KillHard();
        _scheduler.Dispose();
        _scheduler = DaemonProcess.StartScheduler(Path.Combine(_directory, "scheduler.db"), _port);
        if (!await _scheduler.WaitUntilServingAsync(Channel))
        {
            Assert.Fail("the scheduler did not start again: " + string.Join("\n", _scheduler.StandardError));
        }
    }

    /// <summary>Starts the agent (again) and waits until its node is connected.</summary>
    public async Task StartAgentAsync()
    {
        Agent = DaemonProcess.Start("orchestrator-agent.dll",
        [
            $"--Agent:SchedulerAddress=http://127.0.0.1:{_port}",
            $"--Agent:NodeName={Node}",
            "--Agent:HostIp=127.0.0.1",
            "--Agent:Attributes=zone=e2e",
            "--Agent:CpuOverride=4096",
            "--Agent:MemoryOverride=4096",
        ]);
        await EventuallyAsync(async () => (await Nodes.DescribeNodesAsync(new DescribeNodesRequest { Names = { Node } })).Nodes.FirstOrDefault()?.AgentConnected == true,
            "the agent registers", () => string.Join("\n", Agent.StandardOutput.TakeLast(20)));
    }

    public async Task<Contracts.V1.Task> DescribeAsync(string taskId) =>
        (await Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { taskId } })).Tasks.Single();

    /// <summary>Waits until the task reaches the status, for at most 60 s.</summary>
    public async Task<Contracts.V1.Task> WaitForAsync(string taskId, TaskStatus status)
    {
        Contracts.V1.Task? task = null;
        await EventuallyAsync(async () => (task = await DescribeAsync(taskId)).LastStatus == status, $"task {taskId} is {status}",
            () => $"it is {task?.LastStatus}; agent says:\n" + string.Join("\n", Agent?.StandardOutput.TakeLast(20) ?? []));
        return task!;
    }

    public async Task<string> RegisterAsync(string family, ContainerDefinition container)
    {
        var request = new RegisterTaskDefinitionRequest { Family = family };
        request.ContainerDefinitions.Add(container);
        return (await TaskDefinitions.RegisterTaskDefinitionAsync(request)).TaskDefinition.TaskDefinitionArn;
    }

    public async Task<Contracts.V1.Task> RunAsync(string taskDefinition)
    {
        var run = await Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = taskDefinition });
        Assert.That(run.Failures, Is.Empty, string.Join("; ", run.Failures.Select(f => f.Detail)));
        return run.Tasks.Single();
    }

    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what, Func<string>? explain = null, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (RpcException)
            {
                // Not up yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting until {what}. {explain?.Invoke()}");
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Agent?.Dispose();
        _scheduler.Dispose();
        Channel.Dispose();
        Docker.RemoveContainersOf(Node);
        Directory.Delete(_directory, recursive: true);
        await Task.CompletedTask;
    }
}
