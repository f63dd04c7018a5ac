namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>A cycle in a small directed graph (a task's containers: at most <see cref="Limits.MaxContainers"/> nodes).</summary>
internal static class CycleFinder
{
    private enum Mark
    {
        Unvisited,
        OnPath,
        Done,
    }

    /// <summary>
    /// The nodes of one cycle in edge order (each has an edge to the next, the last to the first), or
    /// null when there is none. Depth first from node 0 on, edges in their order, so the answer is stable.
    /// </summary>
    public static List<int>? Find(IReadOnlyList<IReadOnlyList<int>> edges)
    {
        var marks = new Mark[edges.Count];
        var path = new List<int>();
        for (var start = 0; start < edges.Count; start++)
        {
            if (marks[start] == Mark.Unvisited && Visit(start) is { } cycle)
            {
                return cycle;
            }
        }

        return null;

        List<int>? Visit(int node)
        {
            marks[node] = Mark.OnPath;
            path.Add(node);
            foreach (var next in edges[node])
            {
                if (marks[next] == Mark.OnPath)
                {
                    return path[path.IndexOf(next)..];
                }

                if (marks[next] == Mark.Unvisited && Visit(next) is { } cycle)
                {
                    return cycle;
                }
            }

            marks[node] = Mark.Done;
            path.RemoveAt(path.Count - 1);
            return null;
        }
    }
}
