namespace Orchestrator.Scheduler.LoadBalancing;

/// <summary>One target of a target group as the scheduler derives it: a task's host address and host port.</summary>
/// <param name="Weight">HAProxy's weight, 0..256: 100 for the ECS controller; by task set scale for EXTERNAL.</param>
/// <param name="Draining">Its task is to stop: no new requests, the connections it has may finish.</param>
/// <param name="TaskSet">The deployment (or task set) that started the task.</param>
internal sealed record DerivedTarget(
    string TargetGroup,
    string TaskId,
    string Host,
    int Port,
    int Weight,
    bool Draining,
    string Cluster,
    string Service,
    string Node,
    string TaskSet);
