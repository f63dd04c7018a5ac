using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.Tests.Storage;

/// <summary>Group commit: one flush for every commit written while the previous flush ran; a failed flush fails all after it.</summary>
internal sealed class GroupFlusherTests
{
    private static TaskCompletionSource NewDurable() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [Test]
    public async Task One_flush_covers_every_commit_written_while_the_previous_flush_ran()
    {
        var flushes = 0;
        using var firstStarted = new SemaphoreSlim(0);
        using var release = new SemaphoreSlim(0);
        using var flusher = new GroupFlusher("test", () =>
        {
            if (Interlocked.Increment(ref flushes) == 1)
            {
                firstStarted.Release();
                release.Wait(TimeSpan.FromSeconds(10));
            }
        });

        var first = NewDurable();
        flusher.Written(first);
        Assert.That(await firstStarted.WaitAsync(TimeSpan.FromSeconds(10)), Is.True);
        var later = Enumerable.Range(0, 5).Select(_ => NewDurable()).ToList();
        later.ForEach(flusher.Written);
        var laterDoneEarly = later.Any(d => d.Task.IsCompleted);
        release.Release();
        await Task.WhenAll([first.Task, .. later.Select(d => d.Task)]).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Multiple(() =>
        {
            Assert.That(laterDoneEarly, Is.False, "a commit written during a flush is not covered by it");
            Assert.That(flushes, Is.EqualTo(2), "the five written meanwhile shared the second flush");
        });
    }

    [Test]
    public async Task A_failed_flush_fails_its_commits_and_every_later_one()
    {
        var calls = 0;
        using var flusher = new GroupFlusher("test", () =>
        {
            Interlocked.Increment(ref calls);
            throw new IOException("Input/output error");
        });

        var failed = NewDurable();
        flusher.Written(failed);
        var error = Assert.ThrowsAsync<StorageException>(() => failed.Task.WaitAsync(TimeSpan.FromSeconds(10)))!;
        var later = NewDurable();
        flusher.Written(later);
        var laterError = Assert.ThrowsAsync<StorageException>(() => later.Task.WaitAsync(TimeSpan.FromSeconds(10)))!;
        await Task.Yield();

        Assert.Multiple(() =>
        {
            Assert.That(error.MayBeSaved, Is.True, "written, but whether the disk has it is unknown");
            Assert.That(error.Message, Does.Contain("Input/output error"));
            Assert.That(laterError, Is.SameAs(error), "a later commit fails with the same error, without another flush");
            Assert.That(calls, Is.EqualTo(1));
            Assert.That(flusher.Failed, Is.SameAs(error));
        });
    }

    [Test]
    public void Stopping_flushes_what_is_waiting_first()
    {
        var flushed = 0;
        var durable = NewDurable();
        using (var flusher = new GroupFlusher("test", () => Interlocked.Increment(ref flushed)))
        {
            flusher.Written(durable);
        }

        Assert.That(durable.Task.IsCompletedSuccessfully, Is.True);
        Assert.That(flushed, Is.GreaterThanOrEqualTo(1));
    }
}
