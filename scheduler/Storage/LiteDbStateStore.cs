using LiteDB;
using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Storage;

/// <summary>
/// The state in one LiteDB file. Each record is a document { _id, v } where v is the record as JSON:
/// the scheduler reads the whole state once at start and never queries the file afterwards, so the
/// file needs keys, not indexes, and JSON keeps records readable and tolerant of added fields.
/// Every read and write of the file runs on one <see cref="WriterThread"/>: LiteDB binds a
/// transaction to its thread, and one thread at a time makes a commit's version check and write one
/// step. A commit is written there and handed to the <see cref="GroupFlusher"/>, whose one flush
/// covers every commit written meanwhile; it is durable only after that flush, and the writer thread
/// never waits for the disk.
/// </summary>
internal sealed class LiteDbStateStore : IStateStore
{
    private readonly string _path;
    private readonly bool _isNew;
    private readonly WriterThread _writer;
    private readonly GroupFlusher _flusher;

    // Null after a write failed: LiteDB can be left holding the failed transaction's locks (its
    // rollback needs room on the disk too), so the file is closed and opened afresh, which recovers
    // it from its log to the last commit, before the next write.
    private LiteDbFile? _file;

    // Set on the writer thread as the store is disposed.
    private bool _closed;

    private LiteDbStateStore(string path, LiteDbFile file, bool isNew, ICommitFlush flush, Action<TimeSpan, int>? flushed)
    {
        _path = path;
        _file = file;
        _isNew = isNew;
        _writer = new WriterThread($"LiteDB writer {Path.GetFileName(path)}");
        _flusher = new GroupFlusher($"LiteDB flusher {Path.GetFileName(path)}", () => flush.AfterCommit(path), flushed);
    }

    /// <summary>
    /// Opens (or creates) the file. A file that is not a LiteDB database, is damaged, or cannot be
    /// written is refused with a <see cref="StorageException"/> and left exactly as it was.
    /// </summary>
    /// <param name="flush">What makes each commit durable; by default an fdatasync of the file it went to.</param>
    /// <param name="flushed">Told each group commit's flush time and size (the metrics).</param>
    public static LiteDbStateStore Open(string path, ICommitFlush? flush = null, Action<TimeSpan, int>? flushed = null)
    {
        var full = Path.GetFullPath(path);
        LiteDatabase? db = null;
        try
        {
            var directory = Path.GetDirectoryName(full);
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            // Direct: this process alone owns the file. AutoRebuild stays off: a damaged file must stop
            // the scheduler, never be silently rewritten.
            var isNew = !File.Exists(full);
            if (!isNew)
            {
                CheckReadOnly(full);
            }

            db = OpenForWriting(full);
            var file = new LiteDbFile(db);
            file.Probe();
            return new LiteDbStateStore(full, file, isNew, flush ?? new FsyncCommitFlush(), flushed);
        }
        catch (Exception e) when (e is not (OutOfMemoryException or StorageException))
        {
            // A damaged header throws whatever LiteDB trips over (LiteException, ArgumentOutOfRange,
            // InvalidCast...): any failure here means the file cannot be trusted.
            db?.Dispose();
            throw new StorageException($"cannot open the state database {full}: {e.Message}", e);
        }
        catch (StorageException)
        {
            db?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// LiteDB "repairs" some damaged files as it opens them for writing (it truncates them to whole
    /// pages, for one), so a file is first checked without write access: what is not a whole number
    /// of pages, or does not open and read read-only, is refused before anything can touch it.
    /// </summary>
    private static void CheckReadOnly(string path)
    {
        const int PageSize = 8192;
        var length = new FileInfo(path).Length;
        if (length % PageSize != 0)
        {
            throw new StorageException($"cannot open the state database {path}: its size, {length} bytes, is not a whole number of LiteDB pages; it is damaged or not a LiteDB file");
        }

        using var probe = new LiteDatabase(new ConnectionString { Filename = path, Connection = ConnectionType.Direct, ReadOnly = true });
        new LiteDbFile(probe).Probe();
    }

    private static LiteDatabase OpenForWriting(string path) =>
        new(new ConnectionString { Filename = path, Connection = ConnectionType.Direct, AutoRebuild = false });

    public Task<StoredState> LoadAsync(CancellationToken cancellationToken = default) => _writer.Run(Load, cancellationToken);

    public StoreCommit BeginCommit(ChangeSet changes, long expectedVersion, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return new StoreCommit(Task.FromCanceled<long>(cancellationToken), Task.FromCanceled(cancellationToken));
        }

        var durable = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            return new StoreCommit(_writer.Run(() => WriteThenHandOn(changes, expectedVersion, durable)), durable.Task);
        }
        catch (ObjectDisposedException)
        {
            return StoreCommit.Failed(Closed());
        }
    }

    /// <summary>On the writer thread: the commit written, then handed to the flusher to become durable.</summary>
    private long WriteThenHandOn(ChangeSet changes, long expectedVersion, TaskCompletionSource durable)
    {
        try
        {
            var version = Commit(changes, expectedVersion);
            _flusher.Written(durable);
            return version;
        }
        catch (Exception e)
        {
            durable.TrySetException(e);
            throw;
        }
    }

    /// <summary>On the writer thread.</summary>
    private StoredState Load()
    {
        try
        {
            var file = _file ?? Reopen();
            var tables = StoreTables.All.ToDictionary(t => t, t => ReadAll(file.Table(t), t));
            return new StoredState(_isNew, file.Version, tables);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new StorageException($"cannot read the state database: {e.Message}", e);
        }
    }

    /// <summary>On the writer thread: the transaction begins and commits there, with nothing awaited in between.</summary>
    private long Commit(ChangeSet changes, long expectedVersion)
    {
        if (_closed)
        {
            throw Closed();
        }

        if (_flusher.Failed is { } failed)
        {
            throw new StorageException($"an earlier commit could not be flushed to disk ({failed.InnerException?.Message ?? failed.Message}); restart the scheduler to load what the disk holds");
        }

        var file = _file ?? Reopen();
        var version = file.Version;
        if (version != expectedVersion)
        {
            throw new StoreConflictException(expectedVersion, version);
        }

        if (changes.IsEmpty)
        {
            return version;
        }

        var db = file.Database;

        // The transaction is opened and committed on this thread (the writer thread) with no await in
        // between: LiteDB binds explicit transactions to their thread.
        if (!db.BeginTrans())
        {
            throw new StorageException("a LiteDB transaction is already open on this thread");
        }

        try
        {
            foreach (var change in changes.Changes)
            {
                var collection = file.Table(change.Table);
                if (!change.IsDelete)
                {
                    collection.Upsert(new BsonDocument { ["_id"] = change.Key, ["v"] = StoreJson.Write(change) });
                }
                else
                {
                    collection.Delete(change.Key);
                }
            }

            file.WriteVersion(version + 1);
            if (!db.Commit())
            {
                throw new StorageException("LiteDB did not commit the transaction");
            }
        }
        catch (Exception e)
        {
            TryRollback(db);
            Close();
            if (e is StorageException)
            {
                throw;
            }

            throw new StorageException($"cannot write the state database: {e.Message}", e);
        }

        // Written: the flush that makes it durable comes from the flusher. A failed flush leaves the
        // page cache untrustworthy (the kernel may have dropped the pages), so from then on the store
        // refuses every commit (above) until it is opened again.
        file.Version = version + 1;
        return file.Version;
    }

    public Task<StorageException> Lost => _flusher.Lost;

    private static StorageException Closed() => new("the state database is closed (the scheduler is stopping)");

    /// <summary>Closes the file on the writer thread, after the commits queued before, then stops the thread.</summary>
    public void Dispose()
    {
        try
        {
            // The commits queued before are written first; closing checkpoints the log into the file.
            _writer.Run(() =>
            {
                // For good: a commit queued behind this one must not open the file again.
                _closed = true;
                Close();
                return true;
            }).GetAwaiter().GetResult();
        }
        catch (ObjectDisposedException)
        {
            // Disposed before.
        }

        // The last flush covers what the writer wrote before it closed (the flush falls back to the
        // database file once the log is gone).
        _flusher.Dispose();
        _writer.Dispose();
    }

    /// <summary>Opens the file again after a failed write; while that fails too, so does every write.</summary>
    private LiteDbFile Reopen()
    {
        try
        {
            var file = new LiteDbFile(OpenForWriting(_path));
            file.Probe();
            return _file = file;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new StorageException($"cannot write the state database: reopening it after a failed write failed: {e.Message}", e);
        }
    }

    private void Close()
    {
        var file = _file;
        _file = null;
        try
        {
            file?.Database.Dispose();
        }
        catch (Exception e) when (e is LiteException or IOException)
        {
            // Closing flushes what it can; what it cannot was not committed either.
        }
    }

    private static void TryRollback(LiteDatabase db)
    {
        try
        {
            db.Rollback();
        }
        catch (Exception e) when (e is LiteException or IOException)
        {
            // A failed write leaves the transaction uncommitted; the file is reopened before the next.
        }
    }

    private static IReadOnlyList<object> ReadAll(ILiteCollection<BsonDocument> collection, StoreTable table) =>
        [.. collection.FindAll().Select(doc => table.Read(doc["v"].AsString, doc["_id"].AsString))];
}
