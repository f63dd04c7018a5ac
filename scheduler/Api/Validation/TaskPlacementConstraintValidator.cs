using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement.Constraints;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>
/// The task definition's placementConstraints: memberOf only, as ECS (distinctInstance is about the
/// other tasks of one RunTask or service, so it belongs to those). RunTask, StartTask and services add
/// theirs to these at placement.
/// </summary>
internal static class TaskPlacementConstraintValidator
{
    public const string Field = "placementConstraints";

    public static void Check(IReadOnlyList<Contract.PlacementConstraint> constraints)
    {
        Limits.Count(constraints, Limits.MaxConstraints, Field);
        for (var i = 0; i < constraints.Count; i++)
        {
            var constraint = constraints[i];
            var at = $"{Field}[{i}]";
            if (constraint.Type != "memberOf")
            {
                var why = constraint.Type == "distinctInstance" ? " (give distinctInstance to RunTask or the service)" : "";
                throw RequestException.Invalid($"{at}.type", $"a task definition takes \"memberOf\" constraints only{why}, not \"{Echo.Clip(constraint.Type)}\"");
            }

            try
            {
                ConstraintParser.Parse(constraint.Expression);
            }
            catch (ConstraintSyntaxException e)
            {
                throw RequestException.Invalid($"{at}.expression", e.Message);
            }
        }
    }
}
