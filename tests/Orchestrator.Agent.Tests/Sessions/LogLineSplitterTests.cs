using System.Text;
using Google.Protobuf.WellKnownTypes;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Sessions;
using Orchestrator.Contracts.V1;

namespace Orchestrator.Agent.Tests.Sessions;

/// <summary>The engine's output cut into lines: chunks are not lines, and the two streams interleave.</summary>
internal sealed class LogLineSplitterTests
{
    private static OutputChunk Out(string text) => new(OutputStream.Stdout, Encoding.UTF8.GetBytes(text));

    private static OutputChunk Err(string text) => new(OutputStream.Stderr, Encoding.UTF8.GetBytes(text));

    private static List<LogLine> Split(bool timestamps, params OutputChunk[] chunks)
    {
        var splitter = new LogLineSplitter(timestamps);
        var lines = new List<LogLine>();
        foreach (var chunk in chunks)
        {
            splitter.Add(chunk, lines);
        }

        splitter.Flush(lines);
        return lines;
    }

    private static string[] Texts(List<LogLine> lines) => [.. lines.Select(l => $"{(l.Stream == LogStream.Stderr ? "E" : "O")}:{l.Text}")];

    private static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(new[] { Out("one\ntwo\n") }, new[] { "O:one", "O:two" }).SetName("Two lines in one chunk");
        yield return new TestCaseData(new[] { Out("par"), Out("tial\nnext"), Out(" line\n") }, new[] { "O:partial", "O:next line" }).SetName("A line across chunks is one line");
        yield return new TestCaseData(new[] { Out("crlf\r\n"), Out("bare cr\rin the middle\n") }, new[] { "O:crlf", "O:bare cr\rin the middle" }).SetName("CRLF loses its CR, a CR inside stays");
        yield return new TestCaseData(new[] { Out("last without break") }, new[] { "O:last without break" }).SetName("The last line without a break is a line");
        yield return new TestCaseData(new[] { Out("\n\n") }, new[] { "O:", "O:" }).SetName("Empty lines are lines");
        yield return new TestCaseData(new[] { Out("out "), Err("err "), Out("half\n"), Err("half\n") }, new[] { "O:out half", "E:err half" }).SetName("Stdout and stderr are cut apart");
        yield return new TestCaseData(Array.Empty<OutputChunk>(), Array.Empty<string>()).SetName("No output is no line");
    }

    [TestCaseSource(nameof(Cases))]
    public void Splits_into_lines(OutputChunk[] chunks, string[] expected) =>
        Assert.That(Texts(Split(false, chunks)), Is.EqualTo(expected));

    [Test]
    public void Bytes_that_are_not_UTF8_become_the_replacement_character()
    {
        var lines = Split(false, new OutputChunk(OutputStream.Stdout, new byte[] { (byte)'a', 0xFF, (byte)'b', 0xC3, (byte)'\n' }));

        Assert.That(lines.Single().Text, Is.EqualTo("a\uFFFDb\uFFFD"));
    }

    [Test]
    public void A_character_split_across_chunks_stays_whole()
    {
        var euro = Encoding.UTF8.GetBytes("€\n");
        var lines = Split(false, new OutputChunk(OutputStream.Stdout, euro[..1]), new OutputChunk(OutputStream.Stdout, euro[1..]));

        Assert.That(lines.Single().Text, Is.EqualTo("€"));
    }

    [Test]
    public void A_long_line_is_sent_in_pieces_of_the_limit_cut_between_characters()
    {
        var splitter = new LogLineSplitter(false, maxLineBytes: 10);
        var lines = new List<LogLine>();

        // 9 ASCII bytes, then a 3-byte character that would straddle the limit, then more.
        splitter.Add(Out("123456789€abcdefghij"), lines);
        splitter.Add(Out("k\n"), lines);
        splitter.Flush(lines);

        Assert.Multiple(() =>
        {
            Assert.That(lines.Select(l => l.Text), Is.EqualTo(new[] { "123456789", "€abcdefg", "hijk" }));
            Assert.That(lines.All(l => Encoding.UTF8.GetByteCount(l.Text) <= 10), Is.True);
        });
    }

    [Test]
    public void A_long_line_arriving_in_small_chunks_is_cut_at_the_limit_too()
    {
        var splitter = new LogLineSplitter(false, maxLineBytes: 4);
        var lines = new List<LogLine>();
        foreach (var c in "abcdefghij\n")
        {
            splitter.Add(Out(c.ToString()), lines);
        }

        Assert.That(lines.Select(l => l.Text), Is.EqualTo(new[] { "abcd", "efgh", "ij" }));
    }

    private static IEnumerable<TestCaseData> Timestamps()
    {
        yield return new TestCaseData("2026-12-05T10:12:46.123456789Z", 1796465566L, 123456789).SetName("Nanoseconds kept");
        yield return new TestCaseData("2026-12-05T10:12:46Z", 1796465566L, 0).SetName("No fraction");
        yield return new TestCaseData("2026-12-05T10:12:46.5Z", 1796465566L, 500000000).SetName("A short fraction");
        yield return new TestCaseData("2026-12-05T12:12:46.000000001+02:00", 1796465566L, 1).SetName("An offset");
    }

    [TestCaseSource(nameof(Timestamps))]
    public void Parses_Dockers_timestamps(string prefix, long seconds, int nanos)
    {
        var line = Split(true, Out($"{prefix} hello world\n")).Single();

        Assert.Multiple(() =>
        {
            Assert.That(line.Text, Is.EqualTo("hello world"));
            Assert.That(line.Time, Is.EqualTo(new Timestamp { Seconds = seconds, Nanos = nanos }));
        });
    }

    [Test]
    public void A_timestamp_split_across_chunks_is_parsed_once_the_line_is_whole()
    {
        var lines = Split(true, Out("2026-12-05T10:1"), Out("2:46.1Z first\n2026-12-05T10:12:47Z second\n"));

        Assert.Multiple(() =>
        {
            Assert.That(lines.Select(l => l.Text), Is.EqualTo(new[] { "first", "second" }));
            Assert.That(lines.Select(l => l.Time.Seconds), Is.EqualTo(new[] { 1796465566L, 1796465567L }));
        });
    }

    [Test]
    public void A_line_without_a_timestamp_keeps_its_text_and_has_no_time()
    {
        var line = Split(true, Out("not a time: hello\n")).Single();

        Assert.Multiple(() =>
        {
            Assert.That(line.Text, Is.EqualTo("not a time: hello"));
            Assert.That(line.Time, Is.Null);
        });
    }

    [Test]
    public void The_pieces_of_a_long_line_share_its_timestamp()
    {
        var splitter = new LogLineSplitter(true, maxLineBytes: 8);
        var lines = new List<LogLine>();
        splitter.Add(Out("2026-12-05T10:12:46Z abcdefghijkl\n"), lines);

        Assert.Multiple(() =>
        {
            Assert.That(lines.Select(l => l.Text), Is.EqualTo(new[] { "abcdefgh", "ijkl" }));
            Assert.That(lines.Select(l => l.Time?.Seconds), Is.EqualTo(new long?[] { 1796465566L, 1796465566L }));
        });
    }

    [Test]
    public void Without_timestamps_asked_a_leading_time_is_text()
    {
        var line = Split(false, Out("2026-12-05T10:12:46Z hello\n")).Single();

        Assert.That(line.Text, Is.EqualTo("2026-12-05T10:12:46Z hello"));
    }

    private const string T1 = "2026-12-05T10:12:46.000000001Z";
    private const string T2 = "2026-12-05T10:12:46.000000002Z";
    private const string T3 = "2026-12-05T10:12:46.000000003Z";

    private static IEnumerable<TestCaseData> DockerPieces()
    {
        var a = new string('a', LogLineSplitter.DockerPartialBytes);
        var b = new string('b', LogLineSplitter.DockerPartialBytes);
        var whole = $"{T1} {a}{T2} {b}{T3} tail\n";
        yield return new TestCaseData(new object[] { new[] { whole } }).SetName("Docker's times inside a long line are taken out: one chunk");
        yield return new TestCaseData(new object[] { whole.Chunk(1000).Select(c => new string(c)).ToArray() }).SetName("Docker's times inside a long line are taken out: chunks of 1000");
        var at = T1.Length + 1 + a.Length + 10;
        yield return new TestCaseData(new object[] { new[] { whole[..at], whole[at..] } }).SetName("Docker's times inside a long line are taken out: a time split across chunks");
    }

    [TestCaseSource(nameof(DockerPieces))]
    public void A_line_Docker_kept_in_pieces_of_16_KiB_is_one_line_with_the_first_time(string[] chunks)
    {
        var lines = Split(true, [.. chunks.Select(Out)]);

        Assert.Multiple(() =>
        {
            Assert.That(lines, Has.Count.EqualTo(1));
            Assert.That(lines[0].Text, Is.EqualTo(new string('a', LogLineSplitter.DockerPartialBytes) + new string('b', LogLineSplitter.DockerPartialBytes) + "tail"));
            Assert.That(lines[0].Time.Nanos, Is.EqualTo(1));
        });
    }

    [Test]
    public void A_line_of_exactly_16_KiB_loses_the_time_Docker_wrote_before_its_empty_last_piece()
    {
        var a = new string('a', LogLineSplitter.DockerPartialBytes);
        var lines = Split(true, Out($"{T1} {a}{T2} \n{T3} next\n"));

        Assert.That(lines.Select(l => (l.Text.Length, l.Time.Nanos)), Is.EqualTo(new[] { (LogLineSplitter.DockerPartialBytes, 1), (4, 3) }));
    }

    [Test]
    public void Text_at_16_KiB_that_is_no_time_stays()
    {
        var text = new string('a', LogLineSplitter.DockerPartialBytes) + "not a time at all";
        var lines = Split(true, Out($"{T1} {text}\n"));

        Assert.That(lines.Single().Text, Is.EqualTo(text));
    }
}
