using Google.Protobuf;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.State;

internal sealed partial class ClusterState
{
    /// <summary>Registers the next revision of a family. The spec and tags must already be validated.</summary>
    public TaskDefinitionEntry RegisterTaskDefinition(Contract.TaskDefinition spec, TaskResourceDemand demand, IReadOnlyDictionary<string, string>? tags = null)
    {
        lock (_gate)
        {
            // Deleted revisions stay as tombstones in the family, so their numbers are never given out again.
            var revision = (_families.TryGetValue(spec.Family, out var family) ? family.LatestRevision : 0) + 1;
            var stored = spec.Clone();
            stored.Revision = revision;
            stored.TaskDefinitionArn = TaskDefinitionRecord.FormatArn(spec.Family, revision);
            var record = new TaskDefinitionRecord(spec.Family, revision, Active: true, Now, DeregisteredAt: null, stored.ToByteArray(), demand)
            {
                Tags = tags ?? Tags.None,
            };
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

    /// <summary>
    /// Revisions by family then number: of the family <paramref name="family"/> exactly (every family
    /// when empty), or of every family starting with it when <paramref name="matchPrefix"/>.
    /// </summary>
    public IReadOnlyList<TaskDefinitionRecord> ListTaskDefinitions(string family, bool matchPrefix, Func<TaskDefinitionState, bool> status)
    {
        lock (_gate)
        {
            return [.. _families.Values
                .Where(f => family.Length == 0 || (matchPrefix ? f.Name.StartsWith(family, StringComparison.Ordinal) : f.Name == family))
                .OrderBy(f => f.Name, StringComparer.Ordinal)
                .SelectMany(f => f.Revisions.Values.Select(e => e.Record))
                .Where(r => !r.Deleted && status(r.State))];
        }
    }

    public IReadOnlyList<string> ListTaskDefinitionFamilies(string familyPrefix)
    {
        lock (_gate)
        {
            return [.. _families.Values
                .Where(f => f.Name.StartsWith(familyPrefix, StringComparison.Ordinal) && f.Revisions.Values.Any(e => !e.Record.Deleted))
                .Select(f => f.Name)
                .Order(StringComparer.Ordinal)];
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

    /// <summary>
    /// Asks for INACTIVE revisions to be deleted, as ECS's DeleteTaskDefinitions: each is answered
    /// DELETE_IN_PROGRESS, and goes as soon as no task that is not STOPPED and no service uses it (at
    /// once when nothing does). An ACTIVE or unknown revision is a failure of its own; the others go on.
    /// </summary>
    /// <param name="references">Validated "family:revision" references.</param>
    public (IReadOnlyList<TaskDefinitionEntry> Deleting, IReadOnlyList<ReceiptFailure> Failures) DeleteTaskDefinitions(IReadOnlyList<string> references)
    {
        lock (_gate)
        {
            var failures = new List<ReceiptFailure>();
            var marked = new Dictionary<string, TaskDefinitionRecord>(StringComparer.Ordinal);
            var already = new List<TaskDefinitionEntry>();
            foreach (var reference in references.Distinct(StringComparer.Ordinal))
            {
                TaskDefinitionEntry entry;
                try
                {
                    entry = Resolve(reference, "taskDefinitions");
                }
                catch (RequestException e) when (e.Kind == RequestErrorKind.NotFound)
                {
                    failures.Add(new ReceiptFailure(reference, "MISSING", e.Message));
                    continue;
                }

                switch (entry.Record.State)
                {
                    case TaskDefinitionState.Active:
                        failures.Add(new ReceiptFailure(reference, "ACTIVE", $"task definition \"{Echo.Clip(reference)}\" is ACTIVE; deregister it first"));
                        break;
                    case TaskDefinitionState.DeleteInProgress:
                        already.Add(entry);
                        break;
                    default:
                        marked[entry.Record.Arn] = entry.Record with { DeleteRequestedAt = Now };
                        break;
                }
            }

            if (marked.Count > 0)
            {
                var batch = new WriteBatch();
                batch.TaskDefinitions.AddRange(marked.Values);
                Commit(batch);
            }

            // Answered as DELETE_IN_PROGRESS, as ECS does, even those that are gone by the time it returns.
            var deleting = already.Concat(marked.Values.Select(TaskDefinitionEntry.From)).ToList();
            FinishDeletionsLocked();
            return (deleting, failures);
        }
    }

    /// <summary>Deletes the DELETE_IN_PROGRESS revisions nothing uses any more. Runs with the history pruning.</summary>
    public int FinishTaskDefinitionDeletions()
    {
        lock (_gate)
        {
            return FinishDeletionsLocked();
        }
    }

    private int FinishDeletionsLocked()
    {
        var pending = _families.Values.SelectMany(f => f.Revisions.Values)
            .Where(e => e.Record.State == TaskDefinitionState.DeleteInProgress && !e.Record.Deleted)
            .Select(e => e.Record)
            .ToList();
        if (pending.Count == 0)
        {
            return 0;
        }

        var used = _tasks.Values.Where(t => t.LastStatus != TaskState.Stopped).Select(t => t.TaskDefinitionArn)
            .Concat(_services.Values.SelectMany(s => s.Deployments.Select(d => d.TaskDefinitionArn)))
            .ToHashSet(StringComparer.Ordinal);
        var batch = new WriteBatch();
        batch.TaskDefinitions.AddRange(pending.Where(r => !used.Contains(r.Arn)).Select(r => r with { Deleted = true, Spec = [] }));
        if (!batch.IsEmpty)
        {
            Commit(batch);
        }

        return batch.TaskDefinitions.Count;
    }

    /// <summary>
    /// Finds a revision. The reference's syntax is checked before the family is looked up, as ECS
    /// does, so "nosuch:x" is INVALID_ARGUMENT, not NOT_FOUND.
    /// </summary>
    private TaskDefinitionEntry Resolve(string reference, string field)
    {
        var colon = reference.LastIndexOf(':');
        var familyName = colon < 0 ? reference : reference[..colon];
        var revision = 0;
        if (colon >= 0 && (!int.TryParse(reference.AsSpan(colon + 1), System.Globalization.NumberStyles.None, null, out revision) || revision < 1))
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(reference)}\" is not \"family\" or \"family:revision\" with a revision of 1 or more");
        }

        if (!_families.TryGetValue(familyName, out var family) || family.Revisions.Values.All(e => e.Record.Deleted))
        {
            throw RequestException.NotFound(field, $"task definition family \"{Echo.Clip(familyName)}\" does not exist");
        }

        if (colon < 0)
        {
            return family.LatestActive()
                ?? throw RequestException.NotFound(field, $"task definition family \"{Echo.Clip(familyName)}\" has no ACTIVE revision");
        }

        if (!family.Revisions.TryGetValue(revision, out var entry))
        {
            throw RequestException.NotFound(field, $"task definition \"{Echo.Clip(reference)}\" does not exist (latest revision is {family.LatestRevision})");
        }

        return entry.Record.Deleted
            ? throw RequestException.NotFound(field, $"task definition \"{Echo.Clip(reference)}\" was deleted")
            : entry;
    }
}
