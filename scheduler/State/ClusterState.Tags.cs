using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.State;

/// <summary>Tags of clusters, task definition revisions, services, tasks and nodes (TagService).</summary>
internal sealed partial class ClusterState
{
    public const int MaxTagsPerResource = 50;
    private const string ResourceField = "resourceArn";

    public IReadOnlyDictionary<string, string> TagsOf(ResourceRef resource)
    {
        lock (_gate)
        {
            return resource.Kind switch
            {
                ResourceKind.Cluster => RequireCluster(resource.Name, ResourceField).Tags,
                ResourceKind.TaskDefinition => Resolve(resource.Name, ResourceField).Record.Tags,
                ResourceKind.Service => RequireTagged(_services, ServiceRecord.KeyOf(resource.Cluster, resource.Name), resource).Tags,
                ResourceKind.Task => RequireTaggedTask(resource).Tags,
                ResourceKind.Node => RequireTagged(_nodes, NodeRecord.KeyOf(resource.Cluster, resource.Name), resource).Record.Tags,
                _ => throw new ArgumentOutOfRangeException(nameof(resource), resource.Kind, "no such resource kind"),
            };
        }
    }

    /// <summary>Adds the tags (replacing the values of keys it has); refused past 50 tags, and then nothing changes.</summary>
    public void TagResource(ResourceRef resource, IReadOnlyDictionary<string, string> tags)
    {
        lock (_gate)
        {
            var merged = Tags.With(TagsOf(resource), tags);
            if (merged.Count > MaxTagsPerResource)
            {
                throw RequestException.Invalid("tags", $"a resource has at most {MaxTagsPerResource} tags; this would give it {merged.Count}");
            }

            SetTags(resource, merged);
        }
    }

    public void UntagResource(ResourceRef resource, IReadOnlyList<string> keys)
    {
        lock (_gate)
        {
            var current = TagsOf(resource);
            if (keys.Any(current.ContainsKey))
            {
                SetTags(resource, Tags.Without(current, keys));
            }
        }
    }

    private void SetTags(ResourceRef resource, IReadOnlyDictionary<string, string> tags)
    {
        var batch = new WriteBatch();
        switch (resource.Kind)
        {
            case ResourceKind.Cluster:
                batch.Clusters.Add(_clusters[resource.Name] with { Tags = tags });
                break;
            case ResourceKind.TaskDefinition:
                batch.TaskDefinitions.Add(Resolve(resource.Name, ResourceField).Record with { Tags = tags });
                break;
            case ResourceKind.Service:
                batch.Services.Add(_services[ServiceRecord.KeyOf(resource.Cluster, resource.Name)] with { Tags = tags });
                break;
            case ResourceKind.Task:
                var task = _tasks[resource.Name];
                batch.Tasks.Add(task with { Tags = tags, Version = task.Version + 1 });
                break;
            case ResourceKind.Node:
                batch.Nodes.Add(_nodes[NodeRecord.KeyOf(resource.Cluster, resource.Name)].Record with { Tags = tags });
                break;
        }

        Commit(batch);
    }

    private T RequireTagged<T>(Dictionary<string, T> table, string key, ResourceRef resource)
    {
        RequireCluster(resource.Cluster, ResourceField);
        return table.TryGetValue(key, out var found)
            ? found
            : throw RequestException.NotFound(ResourceField, $"{KindName(resource.Kind)} \"{resource.Name}\" does not exist in cluster \"{resource.Cluster}\"");
    }

    private TaskRecord RequireTaggedTask(ResourceRef resource)
    {
        var task = RequireTagged(_tasks, resource.Name, resource);
        return task.Cluster == resource.Cluster
            ? task
            : throw RequestException.NotFound(ResourceField, $"task \"{resource.Name}\" does not exist in cluster \"{resource.Cluster}\"");
    }

    private static string KindName(ResourceKind kind) => kind switch
    {
        ResourceKind.Service => "service",
        ResourceKind.Task => "task",
        ResourceKind.Node => "node",
        ResourceKind.Cluster => "cluster",
        _ => "task definition",
    };
}
