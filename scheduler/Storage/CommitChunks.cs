namespace Orchestrator.Scheduler.Storage;

/// <summary>
/// Cuts a group of independent units (one RunTask call's tasks and receipt; one task's report) into
/// runs that each fit one commit under the store's limits. A unit is never cut: what one call or one
/// report writes stays one commit, so a crash between two commits leaves whole calls, never half of one
/// (a client retrying with its token finds all of its tasks or none). A unit too large on its own is
/// left alone in its run, for the store to refuse with its own message.
/// </summary>
internal static class CommitChunks
{
    /// <param name="changes">The puts and deletes a unit adds to a commit (events it causes included).</param>
    /// <param name="bytes">About how many bytes it adds to the commit's request.</param>
    public static List<List<T>> Split<T>(IReadOnlyList<T> units, StoreLimits limits, Func<T, int> changes, Func<T, int> bytes)
    {
        // No limit (LiteDB): the one run is the group itself, not a copy, on every commit's path.
        if (limits.IsNone)
        {
            return [units as List<T> ?? [.. units]];
        }

        var runs = new List<List<T>>();

        var run = new List<T>();
        long runChanges = 0, runBytes = 0;
        foreach (var unit in units)
        {
            int unitChanges = changes(unit), unitBytes = bytes(unit);
            if (run.Count > 0 && (runChanges + unitChanges > limits.MaxChanges || runBytes + unitBytes > limits.MaxBytes))
            {
                runs.Add(run);
                run = [];
                runChanges = runBytes = 0;
            }

            run.Add(unit);
            runChanges += unitChanges;
            runBytes += unitBytes;
        }

        if (run.Count > 0)
        {
            runs.Add(run);
        }

        return runs;
    }

    /// <summary>About what one change costs in a commit's request: its key, its record's JSON (a put) and the framing around them.</summary>
    public static int BytesOf(Change change) =>
        change.Table.Name.Length + change.Key.Length + (change.Record is { } record ? change.Table.Write(record).Length : 0) + 64;

    /// <summary>About what a put of the record costs in a commit's request: its key, its JSON and the framing around them.</summary>
    public static int BytesOfPut<T>(StoreTable<T> table, T record) where T : class =>
        table.Name.Length + table.KeyOf(record).Length + table.Write(record).Length + 64;
}
