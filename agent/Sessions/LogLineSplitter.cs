using System.Globalization;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using Orchestrator.Agent.Runtime;
using Orchestrator.Contracts.V1;

namespace Orchestrator.Agent.Sessions;

/// <summary>
/// Cuts the engine's output into lines, stdout and stderr apart (a line may come in several chunks, and
/// the two streams' chunks interleave). A line loses its line break (LF or CRLF); bytes that are not
/// UTF-8 become U+FFFD; a line longer than <paramref name="maxLineBytes"/> is sent in pieces of at most
/// that many bytes, cut between characters. With timestamps, the RFC 3339 time Docker writes before each
/// line is taken off the text into LogLine.time (the pieces of a long line share it). Docker keeps a line
/// longer than 16 KiB as several messages of 16 KiB and writes a time before each of them, inside the
/// line (measured here: a 40000-byte line comes with times at 0, 16415 and 32830): those are taken out too.
/// </summary>
internal sealed class LogLineSplitter(bool timestamps, int maxLineBytes = LogLineSplitter.DefaultMaxLineBytes)
{
    public const int DefaultMaxLineBytes = 64 * 1024;

    // "2006-01-02T15:04:05.999999999+07:00 " is the longest prefix Docker writes.
    private const int MaxTimestampLength = 36;

    /// <summary>The size of the pieces Docker's log copier cuts a long line into.</summary>
    internal const int DockerPartialBytes = 16 * 1024;

    private readonly Pending _stdout = new(LogStream.Stdout);
    private readonly Pending _stderr = new(LogStream.Stderr);

    /// <summary>Adds a chunk; the lines it completes are appended to <paramref name="lines"/>.</summary>
    public void Add(OutputChunk chunk, List<LogLine> lines)
    {
        var pending = chunk.Stream == OutputStream.Stderr ? _stderr : _stdout;
        var bytes = chunk.Bytes.Span;
        while (true)
        {
            var end = bytes.IndexOf((byte)'\n');
            pending.Append(end < 0 ? bytes : bytes[..end]);
            Stamp(pending, lineEnded: end >= 0);
            CutLong(pending, lines);
            if (end < 0)
            {
                return;
            }

            EmitLine(pending, lines);
            bytes = bytes[(end + 1)..];
        }
    }

    /// <summary>The end of the output: a last line without a line break is a line too.</summary>
    public void Flush(List<LogLine> lines)
    {
        foreach (var pending in new[] { _stdout, _stderr })
        {
            if (pending.Length > 0)
            {
                EmitLine(pending, lines);
            }
        }
    }

    private void EmitLine(Pending pending, List<LogLine> lines)
    {
        Stamp(pending, lineEnded: true);
        var text = pending.Bytes;
        if (text.Length > 0 && text[^1] == (byte)'\r')
        {
            text = text[..^1];
        }

        lines.Add(pending.Line(text));
        pending.EndLine();
    }

    private void CutLong(Pending pending, List<LogLine> lines)
    {
        while (pending.Length > maxLineBytes)
        {
            // Not inside a character: back off over continuation bytes (10xxxxxx), at most three. Not
            // past a time Docker wrote inside the line that is not whole yet either.
            var cut = Math.Min(maxLineBytes, pending.NextStampAt);
            var bytes = pending.Bytes;
            for (var back = 0; back < 3 && cut > 1 && (bytes[cut] & 0xC0) == 0x80; back++)
            {
                cut--;
            }

            if (cut <= 0)
            {
                return;
            }

            lines.Add(pending.Line(bytes[..cut]));
            pending.Drop(cut);
        }
    }

    /// <summary>
    /// Takes the timestamp off the start of the line, once per line, and those Docker wrote inside it
    /// every <see cref="DockerPartialBytes"/>; a time not whole yet waits for more bytes, unless the line has ended.
    /// </summary>
    private void Stamp(Pending pending, bool lineEnded)
    {
        if (!timestamps)
        {
            return;
        }

        if (!pending.Stamped)
        {
            var first = TakeTimestamp(pending, 0, lineEnded, out var decided);
            if (!decided)
            {
                return;
            }

            pending.Stamped = true;
            pending.Time = first;
            pending.NextStampAt = first is null ? int.MaxValue : DockerPartialBytes;
        }

        while (pending.NextStampAt < pending.Length)
        {
            var next = TakeTimestamp(pending, pending.NextStampAt, lineEnded, out var decided);
            if (!decided)
            {
                return;
            }

            pending.NextStampAt = next is null ? int.MaxValue : pending.NextStampAt + DockerPartialBytes;
        }
    }

    /// <summary>Parses and removes "TIME " at <paramref name="at"/>; not decided while it may still be coming.</summary>
    private static Timestamp? TakeTimestamp(Pending pending, int at, bool lineEnded, out bool decided)
    {
        var rest = pending.Bytes[at..];
        var window = rest[..Math.Min(rest.Length, MaxTimestampLength + 1)];
        var space = window.IndexOf((byte)' ');
        decided = space >= 0 || lineEnded || window.Length > MaxTimestampLength;
        if (space > 0 && TryParseTimestamp(Encoding.ASCII.GetString(rest[..space]), out var time))
        {
            pending.Remove(at, space + 1);
            return time;
        }

        return null;
    }

    /// <summary>Docker's RFC3339Nano: "2006-01-02T15:04:05.999999999Z07:00", nanoseconds kept.</summary>
    internal static bool TryParseTimestamp(string value, out Timestamp time)
    {
        time = null!;
        if (value.Length < 20 || !DateTime.TryParseExact(value[..19], "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var whole))
        {
            return false;
        }

        var rest = value.AsSpan(19);
        var nanos = 0;
        if (rest.Length > 0 && rest[0] == '.')
        {
            var digits = 1;
            while (digits < rest.Length && char.IsAsciiDigit(rest[digits]))
            {
                digits++;
            }

            var fraction = rest[1..digits];
            if (fraction.Length is 0 or > 9)
            {
                return false;
            }

            nanos = int.Parse(fraction, CultureInfo.InvariantCulture);
            for (var i = fraction.Length; i < 9; i++)
            {
                nanos *= 10;
            }

            rest = rest[digits..];
        }

        TimeSpan offset;
        if (rest is "Z")
        {
            offset = TimeSpan.Zero;
        }
        else if (rest.Length == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':'
            && int.TryParse(rest[1..3], NumberStyles.None, CultureInfo.InvariantCulture, out var hours)
            && int.TryParse(rest[4..6], NumberStyles.None, CultureInfo.InvariantCulture, out var minutes))
        {
            offset = new TimeSpan(hours, minutes, 0) * (rest[0] == '-' ? -1 : 1);
        }
        else
        {
            return false;
        }

        var seconds = new DateTimeOffset(whole, TimeSpan.Zero).ToUnixTimeSeconds() - (long)offset.TotalSeconds;
        time = new Timestamp { Seconds = seconds, Nanos = nanos };
        return true;
    }

    /// <summary>The part of one stream's current line not sent yet.</summary>
    private sealed class Pending(LogStream stream)
    {
        private byte[] _buffer = new byte[256];

        public int Length { get; private set; }

        public bool Stamped { get; set; }

        public Timestamp? Time { get; set; }

        /// <summary>Where the next time Docker wrote inside the line would start; int.MaxValue for none.</summary>
        public int NextStampAt { get; set; } = int.MaxValue;

        public ReadOnlySpan<byte> Bytes => _buffer.AsSpan(0, Length);

        public void Append(ReadOnlySpan<byte> bytes)
        {
            if (Length + bytes.Length > _buffer.Length)
            {
                Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + bytes.Length));
            }

            bytes.CopyTo(_buffer.AsSpan(Length));
            Length += bytes.Length;
        }

        /// <summary>Drops the first bytes (sent as a piece).</summary>
        public void Drop(int count)
        {
            Remove(0, count);
            if (NextStampAt != int.MaxValue)
            {
                NextStampAt -= count;
            }
        }

        public void Remove(int at, int count)
        {
            _buffer.AsSpan(at + count, Length - at - count).CopyTo(_buffer.AsSpan(at));
            Length -= count;
        }

        public LogLine Line(ReadOnlySpan<byte> text) => new()
        {
            Stream = stream,
            Text = Encoding.UTF8.GetString(text),
            Time = Time?.Clone(),
        };

        public void EndLine()
        {
            Length = 0;
            Stamped = false;
            Time = null;
            NextStampAt = int.MaxValue;

            // A very long line leaves no large buffer behind.
            if (_buffer.Length > 4 * DefaultMaxLineBytes)
            {
                _buffer = new byte[256];
            }
        }
    }
}
