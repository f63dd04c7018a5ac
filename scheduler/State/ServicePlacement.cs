using System.Runtime.CompilerServices;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.Placement.Constraints;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// A service's placement settings, parsed once: the service record keeps them as the user wrote them
/// (that is what is stored and shown), and a pass reads the parsed form from here. A record and its
/// lists never change, and a copy that keeps its settings shares the same list, so the list itself
/// is the key: a service pass parses nothing, an update that changes the settings parses them once.
/// </summary>
internal static class ServicePlacement
{
    private static readonly ConditionalWeakTable<IReadOnlyList<StrategySpec>, IReadOnlyList<PlacementStrategy>> Strategies = new();
    private static readonly ConditionalWeakTable<IReadOnlyList<ConstraintSpec>, IReadOnlyList<PlacementConstraint>> Constraints = new();

    public static IReadOnlyList<PlacementStrategy> StrategiesOf(ServiceRecord service) =>
        Strategies.GetValue(service.Strategies, specs =>
            RunTaskValidator.Strategies([.. specs.Select(s => new Contract.PlacementStrategy { Type = s.Type, Field = s.Field })]));

    public static IReadOnlyList<PlacementConstraint> ConstraintsOf(ServiceRecord service) =>
        Constraints.GetValue(service.Constraints, specs =>
            RunTaskValidator.Constraints([.. specs.Select(c => new Contract.PlacementConstraint { Type = c.Type, Expression = c.Expression })]));

    /// <summary>The constraint that pins a DAEMON placement to one node, built as the parser would build name == "node".</summary>
    public static MemberOfConstraint OnNode(string node) =>
        new($"name == \"{node}\"", new ComparisonExpression(Subject.NodeName, [node], Negated: false));
}
