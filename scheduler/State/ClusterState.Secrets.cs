using Microsoft.Extensions.Logging;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// Secrets (SecretService): put as new versions, sealed before they are stored, described and listed
/// without their values, deleted whole. Placement pins the versions a task gets (<see cref="PinSecrets"/>).
/// </summary>
internal sealed partial class ClusterState
{
    /// <summary>
    /// The most versions a secret keeps: a Put past it deletes the oldest that no task still needs, so
    /// that a secret rotated by a schedule does not grow the store (and memory) without bound.
    /// </summary>
    public const int MaxSecretVersions = 100;

    /// <summary>
    /// Creates the secret, or gives it its next version; earlier versions are kept, up to
    /// <see cref="MaxSecretVersions"/> (<see cref="PrunedVersions"/>). The value is sealed here, under the
    /// lock, as its version number is decided here too and is bound into the seal.
    /// </summary>
    /// <param name="value">The plaintext; the caller clears it once this returns.</param>
    /// <param name="description">Empty keeps the one it has.</param>
    public SecretRecord PutSecret(string name, ReadOnlySpan<byte> value, string description)
    {
        lock (_gate)
        {
            var now = Now;
            var previous = _vault.Record(name);
            var live = previous is { Deleted: false } ? previous : null;
            var version = (previous?.LastVersion ?? 0) + 1;
            List<int> versions = [.. live?.Versions ?? [], version];
            var pruned = PrunedVersions(name, versions);
            var batch = new WriteBatch();
            batch.Secrets.Add(new SecretRecord(
                name,
                description.Length > 0 ? description : live?.Description ?? "",
                [.. versions.Where(v => !pruned.Contains(v))],
                version,
                live?.CreatedAt ?? now,
                now));
            batch.SecretValues.Add(_vault.Seal(name, version, value, now));
            batch.DeletedSecretValues.AddRange(pruned.Select(v => SecretValueRecord.KeyOf(name, v)));
            Commit(batch);
            Log.SecretPut(_log, name, version);
            if (pruned.Count > 0)
            {
                Log.SecretVersionsPruned(_log, name, string.Join(", ", pruned.Order()), MaxSecretVersions);
            }

            return _vault.Live(name)!;
        }
    }

    /// <summary>
    /// The versions a Put deletes to keep <see cref="MaxSecretVersions"/>: the oldest first, never the one
    /// being put, and never one pinned by a task that is not STOPPED, as its start command may be sent
    /// again (an agent that registers again) and must carry the value it was placed with. So a secret
    /// keeps more than the bound while that many versions are in use. Call under the lock.
    /// </summary>
    /// <param name="versions">Every version the secret would have, oldest first, the new one last.</param>
    private HashSet<int> PrunedVersions(string name, List<int> versions)
    {
        var excess = versions.Count - MaxSecretVersions;
        if (excess <= 0)
        {
            return [];
        }

        var pinned = PinnedVersions(name);
        return [.. versions.Take(versions.Count - 1).Where(v => !pinned.Contains(v)).Take(excess)];
    }

    /// <summary>The versions of the secret that tasks which are not STOPPED were placed with.</summary>
    private HashSet<int> PinnedVersions(string name)
    {
        var pinned = new HashSet<int>();
        foreach (var task in _tasks.Values)
        {
            if (task.LastStatus == TaskState.Stopped || task.SecretVersions is not { } versions)
            {
                continue;
            }

            foreach (var (valueFrom, version) in versions)
            {
                if (SecretReference.TryParse(valueFrom, out var reference) && reference.Name == name)
                {
                    pinned.Add(version);
                }
            }
        }

        return pinned;
    }

    public SecretRecord DescribeSecret(string name)
    {
        lock (_gate)
        {
            return RequireSecret(name);
        }
    }

    /// <summary>The secrets whose names start with the prefix, by name.</summary>
    public IReadOnlyList<SecretRecord> ListSecrets(string namePrefix)
    {
        lock (_gate)
        {
            return _vault.List(namePrefix);
        }
    }

    /// <summary>
    /// Deletes every version. Tasks placed already keep the versions they were pinned to while their
    /// agents have them; a start command sent from now on goes without them. The record stays as a
    /// tombstone that keeps its last version number (<see cref="SecretRecord"/>).
    /// </summary>
    /// <returns>The secret as it was.</returns>
    public SecretRecord DeleteSecret(string name)
    {
        lock (_gate)
        {
            var secret = RequireSecret(name);
            var batch = new WriteBatch();
            batch.Secrets.Add(secret with { Description = "", Versions = [], DeletedAt = Now });
            batch.DeletedSecretValues.AddRange(SecretVault.ValueKeysOf(secret));
            Commit(batch);
            Log.SecretDeleted(_log, name, secret.Versions.Count);
            return secret;
        }
    }

    /// <summary>
    /// The one check of every placement (RunTask, services' tasks, StartTask): the versions of the
    /// secrets the definition references, to record on each task placed (<see cref="TaskRecord.SecretVersions"/>),
    /// or, when one names no usable secret, why no task of it is placed. Call under the lock.
    /// </summary>
    private SecretPins PinSecrets(TaskDefinitionEntry definition) => _vault.Pin(definition.Spec);

    /// <summary>One placement failure per task asked for, as the placement engine gives them, for a definition whose secrets do not resolve.</summary>
    private static IReadOnlyList<PlacementFailure> SecretFailures(SecretPins pins, int count) =>
        [.. Enumerable.Range(0, count).Select(ordinal => new PlacementFailure(ordinal, SecretPins.MissingReason, pins.Problem!))];

    private SecretRecord RequireSecret(string name) =>
        _vault.Live(name) ?? throw RequestException.NotFound("name", $"secret \"{name}\" does not exist");

    /// <summary>Says, once at start, which stored values this scheduler's key cannot open (the key file was replaced).</summary>
    private void CheckSecretKey()
    {
        var unreadable = _vault.SealedWithAnotherKey();
        if (unreadable.Count > 0)
        {
            Log.SecretsSealedWithAnotherKey(_log, unreadable.Count, string.Join(", ", unreadable.Take(10)));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(LogEvents.SecretPut, LogLevel.Information, "Secret {Name}: version {Version} put")]
        public static partial void SecretPut(ILogger logger, string name, int version);

        [LoggerMessage(LogEvents.SecretVersionsPruned, LogLevel.Information, "Secret {Name}: versions {Versions} deleted to keep at most {Max} (versions that running tasks were placed with are kept)")]
        public static partial void SecretVersionsPruned(ILogger logger, string name, string versions, int max);

        [LoggerMessage(LogEvents.SecretDeleted, LogLevel.Information, "Secret {Name}: deleted with its {Versions} versions")]
        public static partial void SecretDeleted(ILogger logger, string name, int versions);

        [LoggerMessage(LogEvents.SecretsSealedWithAnotherKey, LogLevel.Error,
            "{Count} stored secret versions were sealed with another key than this data directory's secrets.key and cannot be opened (e.g. {Versions}); tasks that reference them are not placed until they are put again")]
        public static partial void SecretsSealedWithAnotherKey(ILogger logger, int count, string versions);
    }
}
