using Orchestrator.Scheduler.Domain;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Mapping;

/// <summary>
/// Where the wire's enums and the domain's meet, value by value. The two numberings are separate (the
/// wire's 0 is "unspecified", a domain value has no wire number of its own), so nothing is ever cast:
/// a value added on either side fails here, at compile time or with an exception, not silently.
/// What comes from outside (agents' reports) and is unknown maps to the domain's neutral value.
/// </summary>
internal static class WireEnums
{
    public static Contract.TaskStatus ToWire(TaskState state) => state switch
    {
        TaskState.Provisioning => Contract.TaskStatus.Provisioning,
        TaskState.Pending => Contract.TaskStatus.Pending,
        TaskState.Running => Contract.TaskStatus.Running,
        TaskState.Stopping => Contract.TaskStatus.Stopping,
        TaskState.Stopped => Contract.TaskStatus.Stopped,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "no such task state"),
    };

    /// <returns>Null for UNSPECIFIED or a value this scheduler does not know.</returns>
    public static TaskState? ToDomain(Contract.TaskStatus status) => status switch
    {
        Contract.TaskStatus.Provisioning => TaskState.Provisioning,
        Contract.TaskStatus.Pending => TaskState.Pending,
        Contract.TaskStatus.Running => TaskState.Running,
        // Only the scheduler says DEACTIVATING (a RUNNING task whose targets drain; see TaskMapper):
        // in the domain that task is still RUNNING.
        Contract.TaskStatus.Deactivating => TaskState.Running,
        Contract.TaskStatus.Stopping => TaskState.Stopping,
        Contract.TaskStatus.Stopped => TaskState.Stopped,
        _ => null,
    };

    public static Contract.StopCode ToWire(TaskStopCode code) => code switch
    {
        TaskStopCode.None => Contract.StopCode.Unspecified,
        TaskStopCode.TaskFailedToStart => Contract.StopCode.TaskFailedToStart,
        TaskStopCode.EssentialContainerExited => Contract.StopCode.EssentialContainerExited,
        TaskStopCode.UserInitiated => Contract.StopCode.UserInitiated,
        TaskStopCode.ServiceSchedulerInitiated => Contract.StopCode.ServiceSchedulerInitiated,
        TaskStopCode.NodeLost => Contract.StopCode.NodeLost,
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "no such stop code"),
    };

    public static TaskStopCode ToDomain(Contract.StopCode code) => code switch
    {
        Contract.StopCode.TaskFailedToStart => TaskStopCode.TaskFailedToStart,
        Contract.StopCode.EssentialContainerExited => TaskStopCode.EssentialContainerExited,
        Contract.StopCode.UserInitiated => TaskStopCode.UserInitiated,
        Contract.StopCode.ServiceSchedulerInitiated => TaskStopCode.ServiceSchedulerInitiated,
        Contract.StopCode.NodeLost => TaskStopCode.NodeLost,
        _ => TaskStopCode.None,
    };

    public static Contract.HealthStatus ToWire(HealthState health) => health switch
    {
        HealthState.Unknown => Contract.HealthStatus.Unknown,
        HealthState.Healthy => Contract.HealthStatus.Healthy,
        HealthState.Unhealthy => Contract.HealthStatus.Unhealthy,
        _ => throw new ArgumentOutOfRangeException(nameof(health), health, "no such health state"),
    };

    public static HealthState ToDomain(Contract.HealthStatus health) => health switch
    {
        Contract.HealthStatus.Healthy => HealthState.Healthy,
        Contract.HealthStatus.Unhealthy => HealthState.Unhealthy,
        _ => HealthState.Unknown,
    };

    public static Contract.TransportProtocol ToWire(Protocol protocol) => protocol switch
    {
        Protocol.Tcp => Contract.TransportProtocol.Tcp,
        Protocol.Udp => Contract.TransportProtocol.Udp,
        _ => throw new ArgumentOutOfRangeException(nameof(protocol), protocol, "no such protocol"),
    };

    /// <returns>Null for a value this scheduler does not know; UNSPECIFIED means TCP, as on the API.</returns>
    public static Protocol? ToDomain(Contract.TransportProtocol protocol) => protocol switch
    {
        Contract.TransportProtocol.Unspecified or Contract.TransportProtocol.Tcp => Protocol.Tcp,
        Contract.TransportProtocol.Udp => Protocol.Udp,
        _ => null,
    };
}
