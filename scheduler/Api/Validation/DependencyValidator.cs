using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>
/// What a container needs of the task's other containers: dependsOn, links and volumesFrom. Each names
/// another container of the task, and none may go round in a circle: the agent starts a container after
/// the ones it depends on or links to (a link is an implicit start dependency, as for the ECS agent), and
/// creates a container after the ones it takes volumes from, so a cycle would never start.
/// </summary>
internal static class DependencyValidator
{
    public const string Start = "START";
    public const string Complete = "COMPLETE";
    public const string Success = "SUCCESS";
    public const string Healthy = "HEALTHY";

    /// <summary>An edge "from waits for To", and the field of "from" that says so.</summary>
    private sealed record Edge(int To, string Field);

    public static void Check(IReadOnlyList<Contract.ContainerDefinition> containers)
    {
        var indexes = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < containers.Count; i++)
        {
            indexes[containers[i].Name] = i;
        }

        var startsAfter = new List<Edge>[containers.Count];
        var createdAfter = new List<Edge>[containers.Count];
        for (var i = 0; i < containers.Count; i++)
        {
            var at = $"containerDefinitions[{i}]";
            startsAfter[i] = [];
            createdAfter[i] = [];
            CheckDependsOn(containers, i, at, indexes, startsAfter[i]);
            CheckLinks(containers[i], i, at, indexes, startsAfter[i]);
            CheckVolumesFrom(containers, i, at, indexes, createdAfter[i]);

            // Docker resolves a legacy link when the container is created, as it does volumesFrom: the
            // agent creates sources first, which a cycle through the two together would make impossible.
            createdAfter[i].AddRange(startsAfter[i].Where(e => e.Field == "links"));
        }

        RefuseCycle(containers, startsAfter);
        RefuseCycle(containers, createdAfter);
    }

    private static void CheckDependsOn(IReadOnlyList<Contract.ContainerDefinition> containers, int self, string at, Dictionary<string, int> indexes, List<Edge> edges)
    {
        var dependencies = containers[self].DependsOn;
        Limits.Count(dependencies, Limits.MaxContainers, $"{at}.dependsOn");
        var seen = new Dictionary<int, int>();
        for (var d = 0; d < dependencies.Count; d++)
        {
            var dependency = dependencies[d];
            var field = $"{at}.dependsOn[{d}]";
            var target = Target(dependency.ContainerName, $"{field}.containerName", self, indexes);
            if (!seen.TryAdd(target, d))
            {
                throw RequestException.Invalid($"{field}.containerName", $"\"{dependency.ContainerName}\" is also in dependsOn[{seen[target]}]");
            }

            CheckCondition(dependency.Condition, containers[target], $"{field}.condition");
            edges.Add(new Edge(target, "dependsOn"));
        }
    }

    private static void CheckCondition(string condition, Contract.ContainerDefinition target, string field)
    {
        switch (condition)
        {
            case Start:
                return;
            case Complete or Success:
                // ECS: "can't be set on an essential container"; one that exits stops the whole task.
                if (!target.HasEssential || target.Essential)
                {
                    throw RequestException.Invalid(field, $"{condition} cannot be set on an essential container, and \"{target.Name}\" is essential (its exit stops the task)");
                }

                return;
            case Healthy:
                if (target.HealthCheck is null || target.HealthCheck.Command is ["NONE", ..])
                {
                    throw RequestException.Invalid(field, $"HEALTHY needs a health check on \"{target.Name}\", and it has none");
                }

                return;
            case "":
                throw RequestException.Invalid(field, $"is required: \"{Start}\", \"{Complete}\", \"{Success}\" or \"{Healthy}\"");
            default:
                throw RequestException.Invalid(field, $"must be \"{Start}\", \"{Complete}\", \"{Success}\" or \"{Healthy}\", not \"{Echo.Clip(condition)}\"");
        }
    }

    /// <summary>Links are "name" or "name:alias"; the alias (the name by default) is the host name the container sees.</summary>
    private static void CheckLinks(Contract.ContainerDefinition container, int self, string at, Dictionary<string, int> indexes, List<Edge> edges)
    {
        Limits.Count(container.Links, Limits.MaxLinks, $"{at}.links");
        var aliases = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var l = 0; l < container.Links.Count; l++)
        {
            var link = container.Links[l];
            var field = $"{at}.links[{l}]";
            var parts = link.Split(':');
            if (link.Length == 0 || parts.Length > 2)
            {
                throw RequestException.Invalid(field, $"\"{Echo.Clip(link)}\" is not \"container\" or \"container:alias\"");
            }

            var target = Target(parts[0], field, self, indexes);
            var alias = parts.Length == 2 ? parts[1] : parts[0];
            if (parts.Length == 2 && !HostNames.IsHostname(alias))
            {
                throw RequestException.Invalid(field, $"the alias \"{Echo.Clip(alias)}\" is not a host name: {HostNames.Rule()}");
            }

            if (!aliases.TryAdd(alias, l))
            {
                throw RequestException.Invalid(field, $"the name \"{Echo.Clip(alias)}\" is also given by links[{aliases[alias]}]");
            }

            edges.Add(new Edge(target, "links"));
        }
    }

    private static void CheckVolumesFrom(IReadOnlyList<Contract.ContainerDefinition> containers, int self, string at, Dictionary<string, int> indexes, List<Edge> edges)
    {
        var container = containers[self];
        Limits.Count(container.VolumesFrom, Limits.MaxContainers, $"{at}.volumesFrom");
        var seen = new Dictionary<int, int>();
        for (var v = 0; v < container.VolumesFrom.Count; v++)
        {
            var field = $"{at}.volumesFrom[{v}].sourceContainer";
            var source = container.VolumesFrom[v].SourceContainer;
            var target = Target(source, field, self, indexes);
            if (!seen.TryAdd(target, v))
            {
                throw RequestException.Invalid(field, $"\"{source}\" is also in volumesFrom[{seen[target]}]");
            }

            // Docker copies every mount of the source, the bind mount of its /run/secrets too, so this
            // container would read secrets it never referenced (VolumeRules.SecretFilesSource, the
            // agent's form of this rule).
            if (containers[target].Secrets.Any(s => s.AsFile))
            {
                throw RequestException.Invalid(field, $"\"{source}\" has secrets as files; volumesFrom would give this container its /run/secrets");
            }

            edges.Add(new Edge(target, "volumesFrom"));
        }
    }

    private static int Target(string name, string field, int self, Dictionary<string, int> indexes)
    {
        if (name.Length == 0)
        {
            throw RequestException.Invalid(field, "is required: the name of another container of this task definition");
        }

        if (!indexes.TryGetValue(name, out var target))
        {
            throw RequestException.Invalid(field, $"no container named \"{Echo.Clip(name)}\" in containerDefinitions");
        }

        if (target == self)
        {
            throw RequestException.Invalid(field, $"\"{name}\" is this container itself; name another one");
        }

        return target;
    }

    /// <summary>
    /// Refuses the first cycle found, named from its first container in the task definition's order so
    /// that the same definition always gets the same message.
    /// </summary>
    private static void RefuseCycle(IReadOnlyList<Contract.ContainerDefinition> containers, List<Edge>[] edges)
    {
        if (CycleFinder.Find(edges.Select(e => e.Select(edge => edge.To).ToList()).ToList()) is not { } cycle)
        {
            return;
        }

        var first = cycle.IndexOf(cycle.Min());
        List<int> ordered = [.. cycle.Skip(first), .. cycle.Take(first)];
        var field = edges[ordered[0]].First(e => e.To == ordered[1]).Field;
        var names = ordered.Append(ordered[0]).Select(i => containers[i].Name);
        throw RequestException.Invalid($"containerDefinitions[{ordered[0]}].{field}", $"a cycle: {string.Join(" -> ", names)}");
    }
}
