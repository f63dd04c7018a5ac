using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>Each test gets its own scheduler on its own database file.</summary>
internal abstract class SchedulerTest
{
    private string _directory = "";

    protected SchedulerHost Host { get; private set; } = null!;
    protected string DataPath => Path.Combine(_directory, "scheduler.db");

    [SetUp]
    public void StartScheduler()
    {
        _directory = Directory.CreateTempSubdirectory("orchestrator-it-").FullName;
        Host = new SchedulerHost(DataPath);
        _ = Host.Server; // start it now, so a failure shows here rather than in the first call
    }

    [TearDown]
    public void StopScheduler()
    {
        Host.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Replaces this test's scheduler with one made differently (on the same file).</summary>
    protected void UseHost(Func<string, SchedulerHost> make)
    {
        Host.Dispose();
        Host = make(DataPath);
        _ = Host.Server;
    }

    /// <summary>Stops this scheduler and starts a new one on the same file, as a restart would.</summary>
    /// <param name="replaceServices">Services the new one has replaced, as <see cref="SchedulerHost.ReplaceServices"/>.</param>
    protected void RestartScheduler(Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? replaceServices = null)
    {
        var clock = Host.Clock;
        Host.Dispose();
        WaitUntilTheDataDirectoryIsFree();
        Host = new SchedulerHost(DataPath, clock, Host.Seed, Host.Certificates) { ReplaceServices = replaceServices };
        _ = Host.Server;
    }

    /// <summary>
    /// The disposed host's Program finishes on its own thread, and its container (with the data
    /// directory's lock) can be released a moment after Dispose returns; a scheduler started before
    /// then stops as a second one on a held directory (seen once in a full run). A real restart is
    /// another process, whose lock goes with it.
    /// </summary>
    private void WaitUntilTheDataDirectoryIsFree()
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                Orchestrator.Scheduler.Storage.DataDirectoryLock.Acquire(DataPath).Dispose();
                return;
            }
            catch (Orchestrator.Scheduler.Storage.StorageException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(20);
            }
        }
    }

    protected static RegisterTaskDefinitionRequest WebDefinition(string family = "web", int cpu = 256, int memory = 512, int hostPort = 0) =>
        WebDefinitionFor(family, cpu, memory, hostPort);

    public static RegisterTaskDefinitionRequest WebDefinitionFor(string family, int cpu = 256, int memory = 512, int hostPort = 0) => new()
    {
        Family = family,
        ContainerDefinitions =
        {
            new ContainerDefinition
            {
                Name = "app",
                Image = "orchestrator-test/busybox",
                Command = { "httpd", "-f", "-p", "80" },
                Cpu = cpu,
                Memory = memory,
                PortMappings = { new PortMapping { ContainerPort = 80, HostPort = hostPort } },
            },
        },
    };

    protected async Task<TaskDefinition> RegisterAsync(RegisterTaskDefinitionRequest? request = null) =>
        (await Host.TaskDefinitions.RegisterTaskDefinitionAsync(request ?? WebDefinition())).TaskDefinition;

    protected async Task<Contracts.V1.Task> DescribeAsync(string taskId, string cluster = "default") =>
        (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = cluster, Tasks = { taskId } })).Tasks.Single();

    protected async Task<Node> NodeAsync(string name, string cluster = "default") =>
        (await Host.Nodes.DescribeNodesAsync(new DescribeNodesRequest { Cluster = cluster, Names = { name } })).Nodes.Single();

    /// <summary>Polls a condition that the scheduler reaches on its own (e.g. after a stream closes).</summary>
    protected static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting until {what}");
            }

            await Task.Delay(20);
        }
    }

    protected static RpcException Refused(Func<Task> call) => Assert.ThrowsAsync<RpcException>(async () => await call())!;
}
