using Google.Protobuf;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.State;

internal sealed partial class ClusterState
{
    /// <summary>Registers the next revision of a family. The spec must already be validated.</summary>
    public TaskDefinitionEntry RegisterTaskDefinition(Contract.TaskDefinition spec, TaskResourceDemand demand)
    {
        lock (_gate)
        {
            var revision = (_families.TryGetValue(spec.Family, out var family) ? family.LatestRevision : 0) + 1;
            var stored = spec.Clone();
            stored.Revision = revision;
            stored.TaskDefinitionArn = TaskDefinitionRecord.FormatArn(spec.Family, revision);
            var record = new TaskDefinitionRecord(spec.Family, revision, Active: true, Now, DeregisteredAt: null, stored.ToByteArray(), demand);
            var batch = new WriteBatch();
            batch.TaskDefinitions.Add(record);
            Commit(batch);
            return _families[spec.Family].Revisions[revision];
        }
    }

    /// <summary>"family" is its latest ACTIVE revision; "family:revision" is that revision in any status.</summary>
    public TaskDefinitionEntry FindTaskDefinition(string reference, string field)
    {
        lock (_gate)
        {
            return Resolve(reference, field);
        }
    }

    public IReadOnlyList<TaskDefinitionRecord> ListTaskDefinitions(string familyPrefix, bool? active)
    {
        lock (_gate)
        {
            return [.. _families.Values
                .Where(f => f.Name.StartsWith(familyPrefix, StringComparison.Ordinal))
                .OrderBy(f => f.Name, StringComparer.Ordinal)
                .SelectMany(f => f.Revisions.Values.Select(e => e.Record))
                .Where(r => active is null || r.Active == active)];
        }
    }

    public IReadOnlyList<string> ListTaskDefinitionFamilies(string familyPrefix)
    {
        lock (_gate)
        {
            return [.. _families.Keys.Where(f => f.StartsWith(familyPrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>Marks one revision INACTIVE. Doing it twice answers the same INACTIVE revision.</summary>
    public TaskDefinitionEntry DeregisterTaskDefinition(string reference)
    {
        lock (_gate)
        {
            if (!reference.Contains(':', StringComparison.Ordinal))
            {
                throw RequestException.Invalid("taskDefinition", "must name a revision, \"family:revision\"");
            }

            var entry = Resolve(reference, "taskDefinition");
            if (!entry.Record.Active)
            {
                return entry;
            }

            var batch = new WriteBatch();
            batch.TaskDefinitions.Add(entry.Record with { Active = false, DeregisteredAt = Now });
            Commit(batch);
            return _families[entry.Record.Family].Revisions[entry.Record.Revision];
        }
    }

    private TaskDefinitionEntry Resolve(string reference, string field)
    {
        var colon = reference.LastIndexOf(':');
        var familyName = colon < 0 ? reference : reference[..colon];
        if (!_families.TryGetValue(familyName, out var family))
        {
            throw RequestException.NotFound(field, $"task definition family \"{familyName}\" does not exist");
        }

        if (colon < 0)
        {
            return family.LatestActive()
                ?? throw RequestException.NotFound(field, $"task definition family \"{familyName}\" has no ACTIVE revision");
        }

        if (!int.TryParse(reference.AsSpan(colon + 1), out var revision) || revision < 1)
        {
            throw RequestException.Invalid(field, $"\"{reference}\" is not \"family\" or \"family:revision\" with a revision of 1 or more");
        }

        return family.Revisions.TryGetValue(revision, out var entry)
            ? entry
            : throw RequestException.NotFound(field, $"task definition \"{reference}\" does not exist (latest revision is {family.LatestRevision})");
    }
}
