using Orchestrator.Scheduler.Placement.Index;

namespace Orchestrator.Scheduler.Tests.Placement;

/// <summary>The snapshot's persistent containers against plain lists, over seeded random edits.</summary>
internal sealed class PersistentCollectionTests
{
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void Sorted_blocks_hold_what_a_sorted_list_holds_and_old_versions_stay(int seed)
    {
        var random = new Random(seed);
        var reference = new SortedSet<IndexEntry>(Enumerable.Range(0, 500).Select(i => new IndexEntry(random.Next(50), i, i, i)));
        var blocks = SortedBlocks.Build(reference);
        var versions = new List<(SortedBlocks, List<IndexEntry>)>();
        var next = 500;
        for (var step = 0; step < 3000; step++)
        {
            // Keys crowd into a few values, so blocks fill, split and empty.
            if (reference.Count > 0 && random.Next(5) < 2)
            {
                var victim = reference.ElementAt(random.Next(reference.Count));
                reference.Remove(victim);
                blocks = blocks.Remove(victim);
            }
            else
            {
                var entry = new IndexEntry(random.Next(50), next++, 0, 0);
                reference.Add(entry);
                blocks = blocks.Add(entry);
            }

            if (step % 300 == 0)
            {
                versions.Add((blocks, reference.ToList()));
            }
        }

        var probe = random.Next(50);
        Assert.Multiple(() =>
        {
            Assert.That(blocks.Count, Is.EqualTo(reference.Count));
            Assert.That(IndexedPlacementTests.Entries(blocks), Is.EqualTo(reference.ToList()));
            Assert.That(IndexedPlacementTests.Entries(blocks, probe), Is.EqualTo(reference.Where(e => e.Key >= probe).ToList()));
            Assert.That(IndexedPlacementTests.Entries(blocks, 1000), Is.Empty);
            foreach (var (version, contents) in versions)
            {
                Assert.That(IndexedPlacementTests.Entries(version), Is.EqualTo(contents), "an older version is unchanged");
            }

            Assert.That(() => blocks.Remove(new IndexEntry(-1, -1, 0, 0)), Throws.InvalidOperationException);
        });
    }

    [Test]
    public void Chunked_list_replaces_items_and_leaves_the_old_list_alone()
    {
        var items = Enumerable.Range(0, 1000).ToArray();
        var list = ChunkedList<int>.From(items);
        var changed = list.With([(0, -1), (129, -2), (999, -3), (129, -4)], c => c.Item1, c => c.Item2);
        var expected = (int[])items.Clone();
        expected[0] = -1;
        expected[129] = -4;
        expected[999] = -3;
        Assert.Multiple(() =>
        {
            Assert.That(changed.ToArray(), Is.EqualTo(expected));
            Assert.That(changed, Is.EqualTo(expected));
            Assert.That(list, Is.EqualTo(items));
            Assert.That(changed[129], Is.EqualTo(-4));
            Assert.That(() => changed[1000], Throws.TypeOf<ArgumentOutOfRangeException>());
        });
    }
}
