using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Sessions;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Tests.Sessions;

/// <summary>Lines go out together when they are already read, and at once when the next would wait.</summary>
internal sealed class LogBatcherTests
{
    private Channel<OutputChunk> _engine = null!;
    private bool _sourceClosed;

    [SetUp]
    public void SetUp()
    {
        _engine = Channel.CreateUnbounded<OutputChunk>();
        _sourceClosed = false;
    }

    private async IAsyncEnumerable<OutputChunk> Source([EnumeratorCancellation] CancellationToken cancellation = default)
    {
        try
        {
            await foreach (var chunk in _engine.Reader.ReadAllAsync(cancellation))
            {
                yield return chunk;
            }
        }
        finally
        {
            _sourceClosed = true;
        }
    }

    private void Write(string text) => _engine.Writer.TryWrite(new OutputChunk(OutputStream.Stdout, Encoding.UTF8.GetBytes(text)));

    [Test]
    public async Task What_is_already_read_goes_out_in_one_batch_without_waiting_for_more()
    {
        Write("one\n");
        Write("two\n");
        Write("three\n");
        await using var batches = LogBatcher.BatchAsync(Source(), new LogLineSplitter(false), CancellationToken.None).GetAsyncEnumerator();

        Assert.That(await batches.MoveNextAsync(), Is.True);
        Assert.That(batches.Current.Select(l => l.Text), Is.EqualTo(new[] { "one", "two", "three" }));
    }

    [Test]
    public async Task A_line_written_later_flows_on_its_own_and_the_end_of_the_output_ends_the_batches()
    {
        Write("first\n");
        await using var batches = LogBatcher.BatchAsync(Source(), new LogLineSplitter(false), CancellationToken.None).GetAsyncEnumerator();
        Assert.That(await batches.MoveNextAsync(), Is.True);

        var next = batches.MoveNextAsync().AsTask();
        Write("later\n");
        Assert.That(await next, Is.True);
        Assert.That(batches.Current.Select(l => l.Text), Is.EqualTo(new[] { "later" }));

        Write("unfinished");
        _engine.Writer.Complete();
        Assert.That(await batches.MoveNextAsync(), Is.True);
        Assert.That(batches.Current.Select(l => l.Text), Is.EqualTo(new[] { "unfinished" }));
        Assert.That(await batches.MoveNextAsync(), Is.False);
    }

    [Test]
    public async Task Many_lines_ready_at_once_go_out_in_batches_of_the_limit()
    {
        Write(string.Concat(Enumerable.Range(0, (LogBatcher.MaxLines * 2) + 1).Select(i => $"{i}\n")));
        _engine.Writer.Complete();

        var sizes = new List<int>();
        await foreach (var batch in LogBatcher.BatchAsync(Source(), new LogLineSplitter(false), CancellationToken.None))
        {
            sizes.Add(batch.Count);
        }

        Assert.That(sizes, Is.EqualTo(new[] { LogBatcher.MaxLines, LogBatcher.MaxLines, 1 }));
    }

    [Test]
    public async Task Large_lines_go_out_in_batches_of_about_the_byte_limit()
    {
        var line = new string('x', 16 * 1024);
        for (var i = 0; i < 8; i++)
        {
            Write(line + "\n");
        }

        _engine.Writer.Complete();
        var sizes = new List<int>();
        await foreach (var batch in LogBatcher.BatchAsync(Source(), new LogLineSplitter(false), CancellationToken.None))
        {
            sizes.Add(batch.Count);
        }

        Assert.That(sizes, Is.EqualTo(new[] { 4, 4 }));
    }

    [Test]
    public async Task A_reader_that_leaves_while_a_read_waits_closes_the_engines_stream()
    {
        Write("one\n");
        var batches = LogBatcher.BatchAsync(Source(), new LogLineSplitter(false), CancellationToken.None).GetAsyncEnumerator();
        Assert.That(await batches.MoveNextAsync(), Is.True);

        await batches.DisposeAsync();

        Assert.That(_sourceClosed, Is.True);
    }
}
