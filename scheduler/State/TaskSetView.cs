using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.State;

/// <summary>A task set as the API shows it: the set and its service's view (counts, health).</summary>
/// <param name="Set">The set as it is, or, for one deleted and gone at once, as it was last.</param>
internal sealed record TaskSetView(ServiceView Service, DeploymentRecord Set);

/// <summary>A validated CreateTaskSet request.</summary>
/// <param name="Scale">Percent of the service's desired count, 0..100.</param>
/// <param name="ClientToken">Empty for none; a retry with the same one answers the same task set.</param>
internal sealed record TaskSetDefinition(
    string Cluster,
    string Service,
    string TaskDefinition,
    double Scale,
    string ExternalId,
    string ClientToken);
