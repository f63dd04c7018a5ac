using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Services;

/// <summary>
/// Task sets of a service with the EXTERNAL deployment controller (blue/green, canary, as ECS's), as
/// pure functions over the service record. A task set is a <see cref="DeploymentRecord"/> with a
/// <see cref="DeploymentRecord.Scale"/> (percent of the service's desired count, always set); the
/// PRIMARY one, if any, is first in <see cref="ServiceRecord.Deployments"/>, then the ACTIVE ones
/// (newest first), then the DRAINING ones (deleted, their tasks stopping).
/// </summary>
internal static class TaskSets
{
    /// <summary>At most this many task sets per service, draining ones included.</summary>
    public const int MaxPerService = 10;

    public const double DefaultScale = 100;

    /// <summary>A new task set: PRIMARY when <paramref name="primary"/>, else ACTIVE.</summary>
    public static DeploymentRecord New(string taskDefinitionArn, TaskOverrides? overrides, double scale, string externalId, string clientToken, bool primary, DateTimeOffset now) =>
        new($"ecs-svc/{Guid.NewGuid():N}"[..24], taskDefinitionArn, primary ? DeploymentStatus.Primary : DeploymentStatus.Active, RolloutState.Completed, "",
            0, now, now, overrides, scale, externalId, clientToken);

    /// <summary>⌈desired × scale / 100⌉, as ECS's computedDesiredCount (rounded first, so 10 × 10 % is 1, not 2).</summary>
    public static int ComputedDesiredCount(int desired, double scale) =>
        (int)Math.Ceiling(Math.Round(desired * scale / 100.0, 6));

    /// <summary>The tasks the set should run now: none while it drains or the service is deleted.</summary>
    public static int TargetOf(ServiceRecord service, DeploymentRecord set) =>
        service.Deleting || set.Status == DeploymentStatus.Draining ? 0 : ComputedDesiredCount(service.DesiredCount, set.Scale ?? DefaultScale);

    /// <summary>
    /// STEADY_STATE when the set runs exactly its computed count, all of them healthy, nothing pending
    /// (nor anything more still running on its way out); STABILIZING otherwise.
    /// </summary>
    public static bool Steady(int computed, int running, int pending, int healthy) =>
        running == computed && pending == 0 && healthy == computed;

    public static DeploymentRecord? Find(ServiceRecord service, string id) =>
        service.Deployments.FirstOrDefault(d => d.Id == id);

    public static bool HasPrimary(ServiceRecord service) =>
        service.Deployments.Any(d => d.Status == DeploymentStatus.Primary);

    /// <summary>The set added, newest, in the order the record keeps.</summary>
    public static ServiceRecord Add(ServiceRecord service, DeploymentRecord set) =>
        service with { Deployments = Ordered([set, .. service.Deployments]) };

    /// <summary>The set with this id replaced by <paramref name="changed"/>, in the order the record keeps.</summary>
    public static ServiceRecord Replace(ServiceRecord service, DeploymentRecord changed) =>
        service with { Deployments = Ordered([.. service.Deployments.Select(d => d.Id == changed.Id ? changed : d)]) };

    /// <summary>The set PRIMARY, the one that was ACTIVE; nothing else changes.</summary>
    public static ServiceRecord MakePrimary(ServiceRecord service, string id, DateTimeOffset now) =>
        service with
        {
            Deployments = Ordered([.. service.Deployments.Select(d =>
                d.Id == id ? d with { Status = DeploymentStatus.Primary, UpdatedAt = now }
                : d.Status == DeploymentStatus.Primary ? d with { Status = DeploymentStatus.Active, UpdatedAt = now }
                : d)]),
        };

    /// <summary>PRIMARY first, then ACTIVE, then DRAINING; within each, as they were (newest first).</summary>
    public static IReadOnlyList<DeploymentRecord> Ordered(IEnumerable<DeploymentRecord> sets) =>
        [.. sets.Select((d, i) => (d, i)).OrderBy(x => Rank(x.d.Status)).ThenBy(x => x.i).Select(x => x.d)];

    public static string StatusName(DeploymentStatus status) => status switch
    {
        DeploymentStatus.Primary => "PRIMARY",
        DeploymentStatus.Active => "ACTIVE",
        DeploymentStatus.Draining => "DRAINING",
        _ => "INACTIVE",
    };

    private static int Rank(DeploymentStatus status) => status switch
    {
        DeploymentStatus.Primary => 0,
        DeploymentStatus.Active => 1,
        DeploymentStatus.Draining => 3,
        _ => 2,
    };
}
