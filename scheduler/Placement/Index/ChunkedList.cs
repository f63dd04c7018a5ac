using System.Collections;

namespace Orchestrator.Scheduler.Placement.Index;

/// <summary>
/// An immutable list stored as fixed-size chunks. Replacing items copies the array of chunk references
/// (Count / 128 of them) and each touched chunk (128 items), not the whole list: a snapshot patched after
/// every RunTask costs O(√n) instead of O(n), and indexing stays two array reads.
/// </summary>
internal sealed class ChunkedList<T> : IReadOnlyList<T>
{
    private const int Shift = 7;
    private const int ChunkSize = 1 << Shift;
    private const int Mask = ChunkSize - 1;

    private readonly T[][] _chunks;

    private ChunkedList(T[][] chunks, int count)
    {
        _chunks = chunks;
        Count = count;
    }

    public int Count { get; }

    public T this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(index));
            }

            return _chunks[index >> Shift][index & Mask];
        }
    }

    public static ChunkedList<T> From(IReadOnlyList<T> items)
    {
        if (items is ChunkedList<T> chunked)
        {
            return chunked;
        }

        var chunks = new T[(items.Count + Mask) >> Shift][];
        for (var c = 0; c < chunks.Length; c++)
        {
            var start = c << Shift;
            var chunk = new T[Math.Min(ChunkSize, items.Count - start)];
            for (var i = 0; i < chunk.Length; i++)
            {
                chunk[i] = items[start + i];
            }

            chunks[c] = chunk;
        }

        return new ChunkedList<T>(chunks, items.Count);
    }

    /// <summary>A new list with the given items replaced; this one is unchanged.</summary>
    public ChunkedList<T> With<TChange>(IReadOnlyList<TChange> changes, Func<TChange, int> indexOf, Func<TChange, T> valueOf)
    {
        if (changes.Count == 0)
        {
            return this;
        }

        var chunks = (T[][])_chunks.Clone();
        // A chunk is copied once per call, however many of its items change.
        var copied = new HashSet<int>();
        foreach (var change in changes)
        {
            var index = indexOf(change);
            if ((uint)index >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(changes), index, "no such item");
            }

            var c = index >> Shift;
            if (copied.Add(c))
            {
                chunks[c] = (T[])chunks[c].Clone();
            }

            chunks[c][index & Mask] = valueOf(change);
        }

        return new ChunkedList<T>(chunks, Count);
    }

    public T[] ToArray()
    {
        // Every item is written below: skip zeroing (the scan copies columns out once per call).
        var array = GC.AllocateUninitializedArray<T>(Count);
        for (var c = 0; c < _chunks.Length; c++)
        {
            // Span copies: Array.CopyTo pays type checks per call, and a 10,000-item list has 79 chunks.
            _chunks[c].AsSpan().CopyTo(array.AsSpan(c << Shift));
        }

        return array;
    }

    public IEnumerator<T> GetEnumerator() => new Enumerator(_chunks);

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>A plain cursor over the chunks (LINQ over the node list reads every item through it).</summary>
    private sealed class Enumerator(T[][] chunks) : IEnumerator<T>
    {
        private int _chunk;
        private int _offset = -1;

        public T Current { get; private set; } = default!;

        object? IEnumerator.Current => Current;

        public bool MoveNext()
        {
            while (_chunk < chunks.Length)
            {
                var chunk = chunks[_chunk];
                if (++_offset < chunk.Length)
                {
                    Current = chunk[_offset];
                    return true;
                }

                _chunk++;
                _offset = -1;
            }

            return false;
        }

        public void Reset()
        {
            _chunk = 0;
            _offset = -1;
        }

        public void Dispose()
        {
        }
    }
}
