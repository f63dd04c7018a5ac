using System.Security.Cryptography;
using Google.Protobuf;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.Placement.Constraints;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

internal static class RunTaskValidator
{
    public static RunTaskCommand Validate(Contract.RunTaskRequest request)
    {
        var cluster = Names.Cluster(request.Cluster);
        if (request.TaskDefinition.Length == 0)
        {
            throw RequestException.Invalid("taskDefinition", "is required: \"family\" or \"family:revision\"");
        }

        Names.Text(request.TaskDefinition, "taskDefinition", 300);
        var count = request.Count == 0 ? 1 : request.Count;
        if (count is < 1 or > Limits.MaxRunTaskCount)
        {
            throw RequestException.Invalid("count", $"must be between 1 and {Limits.MaxRunTaskCount}, not {request.Count}");
        }

        Names.Text(request.StartedBy, "startedBy", 128);
        Names.Text(request.Group, "group", Names.MaxLength);
        Names.Text(request.ClientToken, "clientToken", Limits.MaxClientTokenLength);
        var tags = TagValidator.Validate(request.Tags);
        var propagate = Propagation(request.PropagateTags, "RunTask");
        return new RunTaskCommand(
            cluster,
            request.TaskDefinition,
            count,
            Strategies(request.PlacementStrategy),
            Constraints(request.PlacementConstraints),
            request.StartedBy,
            request.Group,
            request.ClientToken,
            HashOf(request),
            tags,
            propagate,
            OverrideValidator.Validate(request.Overrides));
    }

    /// <summary>RunTask's and StartTask's propagateTags.</summary>
    public static TagPropagation Propagation(string value, string call) => value switch
    {
        "" or "NONE" => TagPropagation.None,
        "TASK_DEFINITION" => TagPropagation.TaskDefinition,
        _ => throw RequestException.Invalid("propagateTags", $"must be \"TASK_DEFINITION\" or \"NONE\" for {call}, not \"{Echo.Clip(value)}\""),
    };

    public static IReadOnlyList<PlacementStrategy> Strategies(IReadOnlyList<Contract.PlacementStrategy> strategies, string field = "placementStrategy")
    {
        Limits.Count(strategies, Limits.MaxStrategies, field);
        var parsed = new List<PlacementStrategy>(strategies.Count);
        for (var i = 0; i < strategies.Count; i++)
        {
            parsed.Add(PlacementStrategyParser.TryParse(strategies[i].Type, strategies[i].Field, out var part, out var error)
                ?? throw RequestException.Invalid($"{field}[{i}].{part}", error));
        }

        return parsed;
    }

    public static IReadOnlyList<PlacementConstraint> Constraints(IReadOnlyList<Contract.PlacementConstraint> constraints, string field = "placementConstraints")
    {
        Limits.Count(constraints, Limits.MaxConstraints, field);
        var parsed = new List<PlacementConstraint>(constraints.Count);
        for (var i = 0; i < constraints.Count; i++)
        {
            var constraint = constraints[i];
            var at = $"{field}[{i}]";
            switch (constraint.Type)
            {
                case "distinctInstance":
                    if (constraint.Expression.Length > 0)
                    {
                        throw RequestException.Invalid($"{at}.expression", "distinctInstance takes no expression");
                    }

                    parsed.Add(new DistinctInstanceConstraint());
                    break;
                case "memberOf":
                    try
                    {
                        parsed.Add(new MemberOfConstraint(constraint.Expression, ConstraintParser.Parse(constraint.Expression)));
                    }
                    catch (ConstraintSyntaxException e)
                    {
                        throw RequestException.Invalid($"{at}.expression", e.Message);
                    }

                    break;
                default:
                    throw RequestException.Invalid($"{at}.type", $"must be \"distinctInstance\" or \"memberOf\", not \"{Echo.Clip(constraint.Type)}\"");
            }
        }

        return parsed;
    }

    /// <summary>The request without its token, hashed: a retry has the same hash, a different request not.</summary>
    private static string HashOf(Contract.RunTaskRequest request)
    {
        var copy = request.Clone();
        copy.ClientToken = "";
        return Convert.ToHexString(SHA256.HashData(copy.ToByteArray()));
    }
}
