using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Tasks;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Agent.Tests;

/// <summary>A supervisor on the fake runtime and a fake clock, with tasks written as their containers.</summary>
internal sealed class SupervisorHarness
{
    public const string TaskId = "0123456789abcdef0123456789abcdef";
    private static readonly AgentIdentity Identity = new("default", "node-1", "127.0.0.1");

    public FakeRuntime Runtime { get; } = new();
    public RecordingSink Reports { get; } = new();
    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
    public TaskSupervisor Supervisor { get; private set; }

    public SupervisorHarness() => Supervisor = NewSupervisor();

    public TaskSupervisor NewSupervisor() => new(Runtime, Reports, Identity, Clock, NullLogger<TaskSupervisor>.Instance);

    /// <summary>The supervisor of an agent process started again on the same engine.</summary>
    public TaskSupervisor RestartAgent() => Supervisor = NewSupervisor();

    public static StartTaskCommand Command(params ContainerDefinition[] containers)
    {
        var definition = new TaskDefinition { Family = "app", Revision = 1, TaskDefinitionArn = "app:1" };
        definition.ContainerDefinitions.Add(containers);
        return new StartTaskCommand { TaskId = TaskId, Cluster = "default", TaskDefinition = definition, Group = "family:app" };
    }

    /// <summary>A long-running container; essential unless said otherwise.</summary>
    public static ContainerDefinition Container(string name, bool essential = true, bool healthCheck = false) => new()
    {
        Name = name,
        Image = "busybox",
        Command = { "sleep", "3600" },
        Essential = essential,
        HealthCheck = healthCheck ? new HealthCheck { Command = { "CMD-SHELL", "true" }, IntervalSeconds = 5 } : null,
    };

    public static ContainerDependency On(string container, string condition) => new() { ContainerName = container, Condition = condition };

    public Task StartAsync(StartTaskCommand command) => Supervisor.StartAsync(command, CancellationToken.None);

    public FakeContainer Named(string container) => Runtime.Named(TaskId, container);

    public Task DieAsync(string container, int exitCode) =>
        Supervisor.OnEventAsync(Runtime.Die(Named(container).Id, exitCode), CancellationToken.None);

    public Task HealthAsync(string container, ContainerHealth health) =>
        Supervisor.OnEventAsync(Runtime.Health(Named(container).Id, health), CancellationToken.None);

    public TaskStateReport Last => Reports.LastOf(TaskId)!;

    public ContainerState LastOf(string container) => Last.Containers.Single(c => c.Name == container);

    public bool HasStarted(string container) => Named(container).StartCount > 0;

    public TaskStatus Status => Last.LastStatus;
}
