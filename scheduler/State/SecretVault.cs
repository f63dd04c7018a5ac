using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.Security;
using Orchestrator.Scheduler.Storage;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// What a task definition's secret references come to at placement: the version each valueFrom pins,
/// or why a task of it cannot be placed (reason <see cref="MissingReason"/>, a detail that names the
/// container's reference and the secret).
/// </summary>
internal sealed record SecretPins(IReadOnlyDictionary<string, int>? Versions, string? Problem)
{
    /// <summary>The Failure reason of a task not placed for a secret it references (clusters.proto).</summary>
    public const string MissingReason = "MISSING";

    /// <summary>A definition that references no secret.</summary>
    public static readonly SecretPins None = new(null, null);

    public bool Placeable => Problem is null;
}

/// <summary>
/// The secrets as memory keeps them, under the state's lock: each secret's record (tombstones too) and
/// each version's sealed value. Values stay sealed here; one is opened only as a start command is built
/// (<see cref="Open"/>), so plaintext lives no longer than the command that carries it.
/// </summary>
internal sealed partial class SecretVault(SecretCipher cipher, ILogger log) : ISecretValues
{
    private readonly SortedDictionary<string, SecretRecord> _secrets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SecretValueRecord> _values = new(StringComparer.Ordinal);

    /// <summary>The secret's record, a tombstone if it was deleted, or null if there never was one.</summary>
    public SecretRecord? Record(string name) => _secrets.GetValueOrDefault(name);

    /// <summary>The secret if it exists (not deleted).</summary>
    public SecretRecord? Live(string name) => Record(name) is { Deleted: false } secret ? secret : null;

    /// <summary>The secrets that exist whose names start with the prefix, by name.</summary>
    public IReadOnlyList<SecretRecord> List(string prefix) =>
        [.. _secrets.Values.Where(s => !s.Deleted && s.Name.StartsWith(prefix, StringComparison.Ordinal))];

    /// <summary>The store's keys of every version of the secret.</summary>
    public static IEnumerable<string> ValueKeysOf(SecretRecord secret) => secret.Versions.Select(v => SecretValueRecord.KeyOf(secret.Name, v));

    /// <summary>The value as it is stored, sealed for this name and version with the data directory's key.</summary>
    public SecretValueRecord Seal(string name, int version, ReadOnlySpan<byte> value, DateTimeOffset now) =>
        new(name, version, cipher.KeyId, cipher.Seal(value, name, version), now);

    /// <summary>The versions ("name:version") whose values were sealed with another key than the data directory's: they cannot be opened.</summary>
    public IReadOnlyList<string> SealedWithAnotherKey() =>
        [.. _values.Values.Where(v => v.KeyId != cipher.KeyId).Select(v => $"{v.Name}:{v.Version}")];

    public void Apply(WriteBatch batch)
    {
        foreach (var secret in batch.Secrets)
        {
            _secrets[secret.Name] = secret;
        }

        foreach (var value in batch.SecretValues)
        {
            _values[value.Key] = value;
        }

        foreach (var key in batch.DeletedSecretValues)
        {
            _values.Remove(key);
        }
    }

    /// <summary>
    /// Pins every secret the definition's containers reference: a valueFrom with a version to that
    /// version, one without to the latest. The first reference that names nothing usable makes the
    /// task unplaceable, with a detail such as
    /// <c>containerDefinitions[0].secrets[1].valueFrom: no secret named "db-password"</c>.
    /// </summary>
    public SecretPins Pin(Contract.TaskDefinition spec)
    {
        Dictionary<string, int>? versions = null;
        var containers = spec.ContainerDefinitions;
        for (var c = 0; c < containers.Count; c++)
        {
            var secrets = containers[c].Secrets;
            for (var s = 0; s < secrets.Count; s++)
            {
                var valueFrom = secrets[s].ValueFrom;
                if (versions is not null && versions.ContainsKey(valueFrom))
                {
                    continue;
                }

                var field = $"containerDefinitions[{c}].secrets[{s}].valueFrom";
                if (!SecretReference.TryParse(valueFrom, out var reference))
                {
                    return Missing(field, $"\"{Echo.Clip(valueFrom)}\" is not a secret reference, \"NAME\" or \"NAME:VERSION\"");
                }

                if (Live(reference.Name) is not { } secret)
                {
                    return Missing(field, $"no secret named \"{reference.Name}\"");
                }

                var version = reference.Version ?? secret.LastVersion;
                if (!_values.TryGetValue(SecretValueRecord.KeyOf(secret.Name, version), out var value))
                {
                    return Missing(field, $"secret \"{secret.Name}\" has no version {version} (its latest is {secret.LastVersion})");
                }

                if (value.KeyId != cipher.KeyId)
                {
                    return Missing(field, $"secret \"{secret.Name}\" version {version} was sealed with another key than this scheduler's {SecretCipher.KeyFile}; put it again");
                }

                (versions ??= new Dictionary<string, int>(StringComparer.Ordinal))[valueFrom] = version;
            }
        }

        return versions is null ? SecretPins.None : new SecretPins(versions, null);
    }

    public byte[]? Open(string name, int version, string taskId)
    {
        if (!_values.TryGetValue(SecretValueRecord.KeyOf(name, version), out var value))
        {
            Log.Gone(log, taskId, name, version);
            return null;
        }

        try
        {
            return cipher.Open(value.Sealed, name, version);
        }
        catch (CryptographicException)
        {
            Log.Unreadable(log, taskId, name, version, value.KeyId == cipher.KeyId
                ? "the stored value was altered"
                : $"it was sealed with another key than this scheduler's {SecretCipher.KeyFile}");
            return null;
        }
    }

    private static SecretPins Missing(string field, string problem) => new(null, $"{field}: {problem}");

    private static partial class Log
    {
        [LoggerMessage(LogEvents.SecretGone, LogLevel.Warning, "Task {TaskId}: secret {Name} version {Version} no longer exists; its start command goes without it")]
        public static partial void Gone(ILogger logger, string taskId, string name, int version);

        [LoggerMessage(LogEvents.SecretUnreadable, LogLevel.Error, "Task {TaskId}: secret {Name} version {Version} cannot be decrypted ({Problem}); its start command goes without it")]
        public static partial void Unreadable(ILogger logger, string taskId, string name, int version, string problem);
    }
}
