using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Tests.Domain;

/// <summary>The one escaper of request text in error messages and log lines.</summary>
internal sealed class EchoTests
{
    [TestCase("web-1", "web-1", TestName = "Plain text is left alone")]
    [TestCase("a\nERROR fake", "a\\nERROR fake", TestName = "A newline is shown as \\n")]
    [TestCase("a\r\nb", "a\\r\\nb", TestName = "CR LF as \\r\\n")]
    [TestCase("a\tb", "a\\tb", TestName = "A tab as \\t")]
    [TestCase("x\u001b[31mred", "x\\x1b[31mred", TestName = "ESC as \\x1b")]
    [TestCase("nul\0byte", "nul\\x00byte", TestName = "NUL as \\x00")]
    [TestCase("\u0007\u007f", "\\x07\\x7f", TestName = "BEL and DEL")]
    [TestCase("c1\u0085\u009b", "c1\\x85\\x9b", TestName = "C1 controls (NEL, CSI)")]
    [TestCase("line\u2028para\u2029", "line\\u2028para\\u2029", TestName = "Unicode line and paragraph separators")]
    [TestCase("abc\u202edcba\u2066", "abc\\u202edcba\\u2066", TestName = "Bidirectional overrides and isolates")]
    [TestCase("emoji \ud83d\ude80 ok", "emoji \ud83d\ude80 ok", TestName = "A surrogate pair is printable")]
    [TestCase("café ünï 名前", "café ünï 名前", TestName = "Printable non-ASCII is left alone")]
    [TestCase("back\\slash \\n", "back\\slash \\n", TestName = "A backslash is left alone, so escaping twice changes nothing")]
    public void Escape_shows_every_unprintable_character_as_an_escape(string input, string expected)
    {
        Assert.Multiple(() =>
        {
            Assert.That(Echo.Escape(input), Is.EqualTo(expected));
            Assert.That(Echo.Escape(Echo.Escape(input)), Is.EqualTo(expected), "idempotent");
            Assert.That(Echo.Clip(input), Is.EqualTo(expected), "short values are clipped to themselves");
        });
    }

    [Test]
    public void Unpaired_surrogates_are_escaped()
    {
        // Built here: attribute arguments are stored as UTF-8, which turns a lone surrogate into U+FFFD.
        var input = new string(['\ud800', 'x', '\udc00']);
        Assert.That((Echo.Escape(input), Echo.Clip(input)), Is.EqualTo(("\\ud800x\\udc00", "\\ud800x\\udc00")));
    }

    [Test]
    public void Escape_never_cuts()
    {
        var text = new string('a', 10_000) + "\n";
        Assert.That(Echo.Escape(text), Is.EqualTo(new string('a', 10_000) + "\\n"));
    }

    [TestCase(64, 64, TestName = "64 characters are shown whole")]
    [TestCase(65, 64, TestName = "65 are cut to 61 and an ellipsis")]
    [TestCase(100_000, 64, TestName = "100,000 too")]
    public void Clip_caps_the_length(int length, int shown)
    {
        var clipped = Echo.Clip(new string('x', length));
        Assert.Multiple(() =>
        {
            Assert.That(clipped, Has.Length.EqualTo(shown));
            Assert.That(clipped.EndsWith("...", StringComparison.Ordinal), Is.EqualTo(length > 64));
        });
    }

    [Test]
    public void Clip_counts_the_escapes_and_never_splits_one()
    {
        // 60 characters, then escapes: \x1b would end at 64, so the cut falls before it.
        var clipped = Echo.Clip(new string('x', 60) + "\u001b\u001b\u001b");
        var pair = Echo.Clip(new string('x', 59) + "\ud83d\ude80\ud83d\ude80\ud83d\ude80");
        Assert.Multiple(() =>
        {
            Assert.That(clipped, Is.EqualTo(new string('x', 60) + "..."));
            Assert.That(pair, Is.EqualTo(new string('x', 59) + "\ud83d\ude80..."), "a surrogate pair stays whole");
            Assert.That(Echo.Clip(new string('\n', 100)), Is.EqualTo(string.Concat(Enumerable.Repeat("\\n", 30)) + "..."));
        });
    }
}
