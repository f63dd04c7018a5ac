using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Orchestrator.Agent.Runtime.Logs;

/// <summary>
/// A container's output as containerd's shim writes it: one file (stdout and stderr together), rotated by
/// copy and truncate (<see cref="LogRotator"/>): path.N (oldest) .. path.1, then path.
/// </summary>
/// <remarks>
/// What the file cannot tell, and so what a read on containerd gives where Docker's would give more:
/// <list type="bullet">
/// <item>stdout and stderr are one stream: everything is reported as <see cref="OutputStream.Stdout"/>.</item>
/// <item>No line has a time. <see cref="LogReadOptions.Since"/> is applied per FILE: a file is read whole
/// when it was last written at or after since, else skipped (so lines a little older than since may come).</item>
/// <item><see cref="LogReadOptions.Timestamps"/>: the lines that were in the files when the read began have
/// no time anybody knows, and get no prefix (the log line splitter takes such lines as they are); lines read
/// while following are prefixed with the time the agent read them, at most one poll (250 ms) after the shim
/// wrote them. A time that is not the write time is never made up.</item>
/// </list>
/// </remarks>
internal static class ContainerLogFile
{
    /// <summary>How often a followed file is looked at again.</summary>
    public static readonly TimeSpan FollowPoll = TimeSpan.FromMilliseconds(250);

    private const int ChunkBytes = 32 * 1024;

    /// <summary>The file of container <paramref name="id"/> under the logs directory.</summary>
    public static string PathOf(string logsDirectory, string id) => Path.Combine(logsDirectory, id, "container.log");

    /// <summary>The rotated copies of <paramref name="path"/> that exist, then it (when it exists): oldest first.</summary>
    public static IReadOnlyList<string> FilesOf(string path)
    {
        var rotated = new List<string>();
        for (var n = 1; File.Exists($"{path}.{n}"); n++)
        {
            rotated.Add($"{path}.{n}");
        }

        rotated.Reverse();
        if (File.Exists(path))
        {
            rotated.Add(path);
        }

        return rotated;
    }

    /// <summary>
    /// What was written (the rotated files first, oldest first), then with follow what is written until
    /// <paramref name="isRunning"/> says the container has stopped and the file has no more.
    /// </summary>
    /// <param name="time">The clock of the read times (with timestamps) and of the follow polls; the system's by default.</param>
    public static async IAsyncEnumerable<OutputChunk> ReadAsync(
        string path,
        LogReadOptions options,
        Func<CancellationToken, Task<bool>> isRunning,
        [EnumeratorCancellation] CancellationToken cancellation,
        TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var files = FilesOf(path)
            .Where(f => options.Since is not { } since || File.GetLastWriteTimeUtc(f) >= since.UtcDateTime)
            .ToList();
        var (first, offset) = options.Tail is { } tail ? TailStart(files, tail) : (0, 0L);

        // What was there: no time known, no prefix.
        long? position = null;
        for (var i = first; i < files.Count; i++)
        {
            var from = i == first ? offset : 0;
            var read = 0L;
            await foreach (var chunk in ReadRangeAsync(files[i], from, cancellation))
            {
                read += chunk.Length;
                yield return new OutputChunk(OutputStream.Stdout, chunk);
            }

            if (files[i] == path)
            {
                position = from + read;
            }
        }

        if (!options.Follow)
        {
            yield break;
        }

        // The history left the current file out (since, a tail of 0): following starts at its end, not its start.
        position ??= File.Exists(path) ? new FileInfo(path).Length : 0;
        var stamper = options.Timestamps ? new Stamper() : null;
        var stopped = false;
        while (true)
        {
            var any = false;
            var length = File.Exists(path) ? new FileInfo(path).Length : 0;
            if (length < position)
            {
                // Copied and truncated: what was written after our last read, before the copy, is at the end of path.1.
                await foreach (var chunk in ReadRangeAsync($"{path}.1", position.Value, cancellation))
                {
                    any = true;
                    yield return Stamped(stamper, chunk, time);
                }

                position = 0;
            }

            await foreach (var chunk in ReadRangeAsync(path, position.Value, cancellation))
            {
                any = true;
                position += chunk.Length;
                yield return Stamped(stamper, chunk, time);
            }

            if (any)
            {
                continue;
            }

            if (stopped)
            {
                yield break;
            }

            // Not running: one more look, for what the shim copied out between our last read and the exit.
            stopped = !await isRunning(cancellation);
            if (!stopped)
            {
                await Task.Delay(FollowPoll, time, cancellation);
            }
        }
    }

    /// <summary>Where the last <paramref name="lines"/> lines of the files together begin: a file's index and an offset in it.</summary>
    public static (int File, long Offset) TailStart(IReadOnlyList<string> files, int lines)
    {
        if (lines <= 0)
        {
            return (files.Count, 0);
        }

        var buffer = new byte[8192];
        var newlines = 0;
        var last = true;
        for (var i = files.Count - 1; i >= 0; i--)
        {
            using var stream = Open(files[i]);
            if (stream is null)
            {
                continue;
            }

            var end = stream.Length;
            while (end > 0)
            {
                var start = Math.Max(0, end - buffer.Length);
                var count = (int)(end - start);
                stream.Position = start;
                stream.ReadExactly(buffer, 0, count);
                for (var b = count - 1; b >= 0; b--)
                {
                    if (buffer[b] != (byte)'\n')
                    {
                        last = false;
                        continue;
                    }

                    // The newline that ends the very last line starts nothing.
                    if (last)
                    {
                        last = false;
                        continue;
                    }

                    if (++newlines == lines)
                    {
                        return (i, start + b + 1);
                    }
                }

                end = start;
            }
        }

        return (0, 0);
    }

    private static OutputChunk Stamped(Stamper? stamper, byte[] chunk, TimeProvider time) =>
        new(OutputStream.Stdout, stamper is null ? chunk : stamper.Prefix(chunk, time.GetUtcNow()));

    /// <summary>The bytes of <paramref name="file"/> from <paramref name="from"/> to its end as it was when opened (nothing when it is gone or shorter).</summary>
    private static async IAsyncEnumerable<byte[]> ReadRangeAsync(string file, long from, [EnumeratorCancellation] CancellationToken cancellation)
    {
        using var stream = Open(file);
        if (stream is null || stream.Length <= from)
        {
            yield break;
        }

        stream.Position = from;
        var remaining = stream.Length - from;
        while (remaining > 0)
        {
            var buffer = new byte[(int)Math.Min(ChunkBytes, remaining)];
            var read = await stream.ReadAsync(buffer, cancellation);
            if (read == 0)
            {
                yield break;
            }

            remaining -= read;
            yield return read == buffer.Length ? buffer : buffer[..read];
        }
    }

    /// <summary>Shared with the shim writing it and the rotator truncating it; null when it is not there.</summary>
    private static FileStream? Open(string file)
    {
        try
        {
            return new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.Asynchronous);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Puts the read time and a space before each line that begins in a chunk, as docker logs -t puts the write time.</summary>
    private sealed class Stamper
    {
        private bool _atLineStart = true;

        public byte[] Prefix(byte[] chunk, DateTimeOffset now)
        {
            var stamp = Encoding.ASCII.GetBytes(now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z' ", CultureInfo.InvariantCulture));
            var output = new List<byte>(chunk.Length + stamp.Length);
            foreach (var b in chunk)
            {
                if (_atLineStart)
                {
                    output.AddRange(stamp);
                }

                output.Add(b);
                _atLineStart = b == (byte)'\n';
            }

            return [.. output];
        }
    }
}
