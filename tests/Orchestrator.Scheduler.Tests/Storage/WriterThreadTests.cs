using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.Tests.Storage;

/// <summary>
/// LiteDB's work runs on one thread whoever asks for it (its transactions are bound to a thread), one
/// item at a time in the order queued, and its results and failures reach the caller.
/// </summary>
internal sealed class WriterThreadTests
{
    [Test]
    public async Task Work_queued_from_many_threads_runs_on_one_thread_one_at_a_time_in_queue_order()
    {
        using var writer = new WriterThread("test writer");
        var ran = new List<(int Item, int Thread)>();
        var running = 0;
        var overlapped = false;
        var queued = new List<int>();
        var gate = new object();

        var callers = Enumerable.Range(0, 4).Select(caller => Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                var item = caller * 1000 + i;
                Task<int> done;
                lock (gate)
                {
                    // Queued under the lock, so the order queued is known.
                    queued.Add(item);
                    done = writer.Run(() =>
                    {
                        overlapped |= Interlocked.Increment(ref running) > 1;
                        ran.Add((item, Environment.CurrentManagedThreadId));
                        Thread.SpinWait(100);
                        Interlocked.Decrement(ref running);
                        return item;
                    });
                }

                Assert.That(await done, Is.EqualTo(item));
            }
        })).ToList();
        await Task.WhenAll(callers);

        Assert.Multiple(() =>
        {
            Assert.That(ran.Select(r => r.Thread).Distinct().Count(), Is.EqualTo(1), "one thread");
            Assert.That(ran[0].Thread != Environment.CurrentManagedThreadId, Is.True, "not the caller's");
            Assert.That(overlapped, Is.False, "one at a time");
            Assert.That(ran.Select(r => r.Item), Is.EqualTo(queued), "in the order queued");
        });
    }

    [Test]
    public void A_failure_reaches_the_caller_and_the_writer_goes_on()
    {
        using var writer = new WriterThread("test writer");
        var failed = writer.Run<int>(() => throw new StorageException("disk full"));
        var next = writer.Run(() => 42);
        Assert.Multiple(() =>
        {
            Assert.That(() => failed.GetAwaiter().GetResult(), Throws.TypeOf<StorageException>().With.Message.EqualTo("disk full"));
            Assert.That(next.GetAwaiter().GetResult(), Is.EqualTo(42));
        });
    }

    [Test]
    public async Task The_callers_code_after_the_await_does_not_run_on_the_writer_thread()
    {
        using var writer = new WriterThread("test writer");
        var writerThread = await writer.Run(() => Environment.CurrentManagedThreadId);
        await writer.Run(() => 0);
        Assert.That(Environment.CurrentManagedThreadId, Is.Not.EqualTo(writerThread), "continuations run asynchronously, off the writer");
    }

    [Test]
    public void Work_queued_before_the_stop_runs_and_work_after_it_is_refused()
    {
        var writer = new WriterThread("test writer");
        using var release = new ManualResetEventSlim();
        var first = writer.Run(() => release.Wait(TimeSpan.FromSeconds(10)));
        var second = writer.Run(() => 2);
        var stopping = Task.Run(writer.Dispose);
        release.Set();
        stopping.Wait();
        Assert.Multiple(() =>
        {
            Assert.That(first.Result, Is.True);
            Assert.That(second.Result, Is.EqualTo(2), "queued before the stop");
            Assert.That(() => writer.Run(() => 3), Throws.TypeOf<ObjectDisposedException>());
        });
    }

    [Test]
    public void A_cancelled_token_queues_nothing()
    {
        using var writer = new WriterThread("test writer");
        var ran = false;
        var cancelled = writer.Run(() => ran = true, new CancellationToken(canceled: true));
        writer.Run(() => 0).Wait();
        Assert.Multiple(() =>
        {
            Assert.That(cancelled.IsCanceled, Is.True);
            Assert.That(ran, Is.False);
        });
    }
}
