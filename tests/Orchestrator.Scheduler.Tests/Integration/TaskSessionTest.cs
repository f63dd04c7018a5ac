using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>What the logs and exec tests share: a running task on a simulated agent, and reading a client's stream to its end.</summary>
internal abstract class TaskSessionTest : SchedulerTest
{
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>
    /// However a session ended (client gone, node gone, refused), the scheduler logged no error: every
    /// end is a status, not an exception that escaped a handler. Runs before the host is disposed.
    /// </summary>
    [TearDown]
    public void NoErrorWasLogged() =>
        Assert.That(Host.Logs.Lines.Where(l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal)), Is.Empty);

    /// <summary>A task of <paramref name="definition"/> (the one-container "web" by default) placed on a new agent "n1" and reported RUNNING.</summary>
    protected async Task<(SimulatedAgent Agent, string TaskId)> RunningTaskAsync(RegisterTaskDefinitionRequest? definition = null, string node = "n1")
    {
        var registered = await RegisterAsync(definition);
        var agent = await SimulatedAgent.ConnectAsync(Host.Agents, node);
        var task = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = registered.Family })).Tasks.Single();
        var start = await agent.NextCommandAsync();
        Assert.That(start.StartTask.TaskId, Is.EqualTo(task.TaskId));
        await agent.ReportAsync(task.TaskId, TaskStatus.Running);
        return (agent, task.TaskId);
    }

    /// <summary>Every message of a server stream until it ends, and how it ended.</summary>
    protected static async Task<(List<T> Messages, Status Status)> ReadAllAsync<T>(IAsyncStreamReader<T> stream, Func<Status> status)
    {
        var messages = new List<T>();
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            while (await stream.MoveNext(timeout.Token))
            {
                messages.Add(stream.Current);
            }

            return (messages, status());
        }
        catch (RpcException e) when (!timeout.IsCancellationRequested)
        {
            return (messages, e.Status);
        }
    }

    protected static async Task<T> NextAsync<T>(IAsyncStreamReader<T> stream)
    {
        using var timeout = new CancellationTokenSource(Patience);
        Assert.That(await stream.MoveNext(timeout.Token), Is.True, "the stream went on");
        return stream.Current;
    }

    /// <summary>A definition of two containers: a non-essential "sidecar" first, then the essential "main".</summary>
    protected static RegisterTaskDefinitionRequest TwoContainers() => new()
    {
        Family = "pair",
        ContainerDefinitions =
        {
            new ContainerDefinition { Name = "sidecar", Image = "orchestrator-test/busybox", Memory = 64, Essential = false },
            new ContainerDefinition { Name = "main", Image = "orchestrator-test/busybox", Memory = 64, Essential = true },
        },
    };
}
