using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Placement;

internal enum StrategyKind
{
    BinpackCpu,
    BinpackMemory,
    SpreadNode,
    SpreadAttribute,
    Random,
}

/// <summary>One parsed placement strategy. Build it with <see cref="PlacementStrategyParser"/>.</summary>
internal sealed record PlacementStrategy(StrategyKind Kind, string? Attribute = null)
{
    public override string ToString() => Kind switch
    {
        StrategyKind.BinpackCpu => "binpack(cpu)",
        StrategyKind.BinpackMemory => "binpack(memory)",
        StrategyKind.SpreadNode => "spread(instanceId)",
        StrategyKind.SpreadAttribute => $"spread(attribute:{Attribute})",
        _ => "random",
    };
}

/// <summary>Turns ECS-style (type, field) pairs into strategies, or says what is wrong with them.</summary>
internal static class PlacementStrategyParser
{
    /// <returns>The strategy, or null with the bad part ("type" or "field") and what is wrong with it.</returns>
    public static PlacementStrategy? TryParse(string type, string field, out string errorPart, out string error)
    {
        errorPart = "";
        error = "";
        field = field.Trim();
        switch (type.Trim().ToLowerInvariant())
        {
            case "binpack":
                switch (field.ToLowerInvariant())
                {
                    case "cpu": return new PlacementStrategy(StrategyKind.BinpackCpu);
                    case "memory": return new PlacementStrategy(StrategyKind.BinpackMemory);
                    default:
                        errorPart = "field";
                        error = $"binpack takes \"cpu\" or \"memory\", not \"{Echo.Clip(field)}\"";
                        return null;
                }

            case "spread":
                if (field.Length == 0 || field.Equals("instanceId", StringComparison.OrdinalIgnoreCase)
                    || field.Equals("node", StringComparison.OrdinalIgnoreCase))
                {
                    return new PlacementStrategy(StrategyKind.SpreadNode);
                }

                const string prefix = "attribute:";
                if (field.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && field.Length > prefix.Length)
                {
                    return new PlacementStrategy(StrategyKind.SpreadAttribute, field[prefix.Length..]);
                }

                errorPart = "field";
                error = $"spread takes \"instanceId\", \"node\" or \"attribute:NAME\", not \"{Echo.Clip(field)}\"";
                return null;

            case "random":
                if (field.Length != 0)
                {
                    errorPart = "field";
                    error = "random takes no field";
                    return null;
                }

                return new PlacementStrategy(StrategyKind.Random);

            default:
                errorPart = "type";
                error = $"must be \"binpack\", \"spread\" or \"random\", not \"{Echo.Clip(type)}\"";
                return null;
        }
    }
}
