namespace Orchestrator.Scheduler.Domain;

/// <summary>
/// What is known of a secret, never its value: its versions (oldest first) and when it was made and
/// last put. A deleted secret stays as a tombstone (no versions, <see cref="DeletedAt"/> set) that keeps
/// <see cref="LastVersion"/>, so that a secret put again under the name goes on from there: a version
/// number is never given out twice, and a task pinned to an old version (re-sent to its agent after a
/// restart) can never be handed a newer value under the same number. No API shows a tombstone.
/// </summary>
internal sealed record SecretRecord(
    string Name,
    string Description,
    IReadOnlyList<int> Versions,
    int LastVersion,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public DateTimeOffset? DeletedAt { get; init; }

    public bool Deleted => DeletedAt is not null;
}

/// <summary>
/// One version of a secret's value, sealed (AES-GCM: nonce, ciphertext and tag) with the key of the
/// scheduler's data directory, its name and version bound in as associated data so that a sealed value
/// cannot be moved to another record. <see cref="KeyId"/> names the key it was sealed with (a digest
/// that tells nothing of the key), so that a value sealed with a key the scheduler no longer has is
/// recognised as such rather than failing as tampered.
/// </summary>
internal sealed record SecretValueRecord(string Name, int Version, string KeyId, byte[] Sealed, DateTimeOffset CreatedAt)
{
    public string Key => KeyOf(Name, Version);

    /// <summary>Sorts a secret's versions together and in order ("db:0000000002").</summary>
    public static string KeyOf(string name, int version) => $"{name}:{version:D10}";
}
