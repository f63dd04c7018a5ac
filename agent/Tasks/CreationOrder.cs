using Orchestrator.Contracts.V1;

namespace Orchestrator.Agent.Tasks;

/// <summary>
/// The order a task's containers are created in. Docker resolves volumesFrom and legacy links when a
/// container is created, so their source containers must exist by then: sources first, otherwise the
/// definition's order. (When containers start is dependsOn's business, not this.)
/// </summary>
internal static class CreationOrder
{
    /// <returns>Indexes into <paramref name="definitions"/>, each once.</returns>
    public static IReadOnlyList<int> Of(IReadOnlyList<ContainerDefinition> definitions)
    {
        var indexes = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < definitions.Count; i++)
        {
            indexes[definitions[i].Name] = i;
        }

        var order = new List<int>(definitions.Count);
        var state = new byte[definitions.Count]; // 0 unvisited, 1 on the path, 2 placed
        for (var i = 0; i < definitions.Count; i++)
        {
            Visit(i);
        }

        return order;

        void Visit(int i)
        {
            // A cycle (registration refuses them) is cut where it closes: Docker then names the problem.
            if (state[i] != 0)
            {
                return;
            }

            state[i] = 1;
            foreach (var source in SourcesOf(definitions[i]))
            {
                if (indexes.TryGetValue(source, out var s) && s != i)
                {
                    Visit(s);
                }
            }

            state[i] = 2;
            order.Add(i);
        }
    }

    private static IEnumerable<string> SourcesOf(ContainerDefinition definition) =>
        definition.VolumesFrom.Select(v => v.SourceContainer)
            .Concat(definition.Links.Select(link => link.Split(':')[0]));
}
