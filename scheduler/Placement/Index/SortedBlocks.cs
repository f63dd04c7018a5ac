namespace Orchestrator.Scheduler.Placement.Index;

/// <summary>
/// An immutable sorted sequence of <see cref="IndexEntry"/> kept as sorted blocks of about 128 entries.
/// Adding or removing an entry copies the array of block references and the one block touched, so a
/// new version costs O(√n) while every older version stays valid for whoever still reads it; a walk
/// from a key reads arrays in order.
/// </summary>
internal sealed class SortedBlocks
{
    private const int BlockSize = 128;

    public static readonly SortedBlocks Empty = new([], 0);

    // Never an empty block; the blocks concatenated are in ascending order.
    private readonly IndexEntry[][] _blocks;

    private SortedBlocks(IndexEntry[][] blocks, int count)
    {
        _blocks = blocks;
        Count = count;
    }

    public int Count { get; }

    public static SortedBlocks Build(IEnumerable<IndexEntry> entries)
    {
        var sorted = entries.ToArray();
        Array.Sort(sorted);
        var blocks = sorted.Chunk(BlockSize).ToArray();
        return new SortedBlocks(blocks, sorted.Length);
    }

    public SortedBlocks Add(IndexEntry entry)
    {
        if (_blocks.Length == 0)
        {
            return new SortedBlocks([[entry]], 1);
        }

        var b = BlockFor(entry);
        var block = _blocks[b];
        var at = Array.BinarySearch(block, entry);
        if (at >= 0)
        {
            throw new InvalidOperationException($"node {entry.Node} is already in the index");
        }

        at = ~at;
        var grown = new IndexEntry[block.Length + 1];
        Array.Copy(block, grown, at);
        grown[at] = entry;
        Array.Copy(block, at, grown, at + 1, block.Length - at);

        if (grown.Length <= 2 * BlockSize)
        {
            var blocks = (IndexEntry[][])_blocks.Clone();
            blocks[b] = grown;
            return new SortedBlocks(blocks, Count + 1);
        }

        // Split a full block in two halves.
        var split = new IndexEntry[_blocks.Length + 1][];
        Array.Copy(_blocks, split, b);
        split[b] = grown[..BlockSize];
        split[b + 1] = grown[BlockSize..];
        Array.Copy(_blocks, b + 1, split, b + 2, _blocks.Length - b - 1);
        return new SortedBlocks(split, Count + 1);
    }

    public SortedBlocks Remove(IndexEntry entry)
    {
        var b = _blocks.Length == 0 ? -1 : BlockFor(entry);
        var at = b < 0 ? -1 : Array.BinarySearch(_blocks[b], entry);
        if (at < 0)
        {
            throw new InvalidOperationException($"node {entry.Node} is not in the index as {entry}");
        }

        var block = _blocks[b];
        if (block.Length == 1)
        {
            var fewer = new IndexEntry[_blocks.Length - 1][];
            Array.Copy(_blocks, fewer, b);
            Array.Copy(_blocks, b + 1, fewer, b, _blocks.Length - b - 1);
            return new SortedBlocks(fewer, Count - 1);
        }

        var shrunk = new IndexEntry[block.Length - 1];
        Array.Copy(block, shrunk, at);
        Array.Copy(block, at + 1, shrunk, at, block.Length - at - 1);
        var blocks = (IndexEntry[][])_blocks.Clone();
        blocks[b] = shrunk;
        return new SortedBlocks(blocks, Count - 1);
    }

    /// <summary>The entries with a key of at least <paramref name="key"/>, in ascending order.</summary>
    public Walk From(long key)
    {
        var probe = new IndexEntry(key, int.MinValue, 0, 0);
        if (_blocks.Length == 0)
        {
            return new Walk(_blocks, 0, 0);
        }

        var b = BlockFor(probe);
        var at = Array.BinarySearch(_blocks[b], probe);
        return new Walk(_blocks, b, at >= 0 ? at : ~at);
    }

    /// <summary>The first block whose last entry is not below <paramref name="entry"/>, or the last block.</summary>
    private int BlockFor(IndexEntry entry)
    {
        int low = 0, high = _blocks.Length - 1;
        while (low < high)
        {
            var mid = (low + high) / 2;
            var last = _blocks[mid][^1];
            if (last.CompareTo(entry) < 0)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return low;
    }

    /// <summary>A forward cursor over the blocks; a struct, so a walk allocates nothing.</summary>
    public struct Walk(IndexEntry[][] blocks, int block, int offset)
    {
        private int _block = block;
        private int _offset = offset - 1;

        public IndexEntry Current { get; private set; }

        public bool MoveNext()
        {
            _offset++;
            while (_block < blocks.Length && _offset >= blocks[_block].Length)
            {
                _block++;
                _offset = 0;
            }

            if (_block >= blocks.Length)
            {
                return false;
            }

            Current = blocks[_block][_offset];
            return true;
        }
    }
}
