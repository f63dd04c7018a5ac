namespace Orchestrator.Scheduler.Domain;

/// <summary>The lifecycle of a task, in order. A task's last status only ever moves forward.</summary>
internal enum TaskState
{
    Provisioning = 1,
    Pending = 2,
    Running = 3,
    Stopping = 4,
    Stopped = 5,
}

/// <summary>Why a task stopped, with ECS's names.</summary>
internal enum TaskStopCode
{
    None = 0,
    TaskFailedToStart = 1,
    EssentialContainerExited = 2,
    UserInitiated = 3,
    ServiceSchedulerInitiated = 4,
    NodeLost = 5,
}

internal enum HealthState
{
    Unknown = 0,
    Healthy = 1,
    Unhealthy = 2,
}
