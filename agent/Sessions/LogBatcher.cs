using System.Runtime.CompilerServices;
using Orchestrator.Agent.Runtime;
using Orchestrator.Contracts.V1;

namespace Orchestrator.Agent.Sessions;

/// <summary>
/// Turns the engine's output into batches of lines: what is already read goes out together (up to
/// <see cref="MaxLines"/> lines or about <see cref="MaxBytes"/> of text), but a batch never waits to
/// fill: as soon as the next read would have to wait, the lines read so far are handed over. The caller
/// awaits each batch's write before the next is taken, so the engine is read no faster than the reader
/// takes the lines, and at most one batch and one chunk are held.
/// </summary>
internal static class LogBatcher
{
    public const int MaxLines = 256;
    public const int MaxBytes = 64 * 1024;

    public static async IAsyncEnumerable<IReadOnlyList<LogLine>> BatchAsync(
        IAsyncEnumerable<OutputChunk> chunks,
        LogLineSplitter splitter,
        [EnumeratorCancellation] CancellationToken cancellation)
    {
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var source = chunks.GetAsyncEnumerator(reading.Token);
        var split = new List<LogLine>();
        var batch = new List<LogLine>();
        var bytes = 0;
        ValueTask<bool>? next = null;
        try
        {
            while (true)
            {
                var move = source.MoveNextAsync();
                if (!move.IsCompleted && batch.Count > 0)
                {
                    // The next read waits for the container to write: what is read goes out now. Should
                    // the reader leave meanwhile, the read still waiting is ended below.
                    next = move;
                    yield return batch;
                    next = null;
                    batch = [];
                    bytes = 0;
                }

                var more = await move;
                if (more)
                {
                    splitter.Add(source.Current, split);
                }
                else
                {
                    splitter.Flush(split);
                }

                foreach (var line in split)
                {
                    batch.Add(line);
                    bytes += line.Text.Length;
                    if (batch.Count >= MaxLines || bytes >= MaxBytes)
                    {
                        yield return batch;
                        batch = [];
                        bytes = 0;
                    }
                }

                split.Clear();
                if (!more)
                {
                    break;
                }
            }

            if (batch.Count > 0)
            {
                yield return batch;
            }
        }
        finally
        {
            // The reader left while a read was waiting (a followed container that writes nothing): end
            // that read before the source is disposed, which closes the engine's stream.
            if (next is { } pending)
            {
                await reading.CancelAsync();
                try
                {
                    await pending;
                }
                catch (Exception)
                {
                    // Cancelled, or failed while ending: the session is over either way.
                }
            }

            await source.DisposeAsync();
        }
    }
}
