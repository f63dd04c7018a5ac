using System.Globalization;
using System.Text;

namespace Orchestrator.Scheduler.Domain;

/// <summary>
/// The one place where text from a request is made fit to be echoed in an error message or a log
/// line. Error messages are logged (gRPC logs every error status at Information) and end up in the
/// journal and in operators' terminals, so raw input there could forge log lines (a newline and
/// "ERROR ..."), or drive the terminal (escape codes). Every character that is not printable is
/// shown as an escape instead: <c>\n</c>, <c>\r</c>, <c>\t</c>, <c>\xHH</c> for the other C0 and C1
/// controls and DEL (NUL is <c>\x00</c>, ESC <c>\x1b</c>), and <c>\uHHHH</c> for the Unicode line and
/// paragraph separators, the bidirectional overrides and isolates (which reorder what a terminal
/// shows), and unpaired surrogates.
/// </summary>
/// <remarks>
/// A backslash is left as it is: the escapes are there for safety, not to be decoded again, and
/// leaving it makes escaping idempotent, so a message whose parts were escaped can be escaped whole
/// once more (as <see cref="State.RequestException"/> does) without doubling anything.
/// </remarks>
internal static class Echo
{
    /// <summary>How much of one quoted value an error message shows.</summary>
    public const int MaxLength = 64;

    private const string Ellipsis = "...";

    /// <summary>
    /// A value from a request as an error message quotes it: escaped, and cut to
    /// <see cref="MaxLength"/> characters (ending in "...") so a huge value makes no huge error.
    /// </summary>
    public static string Clip(string value)
    {
        var text = new StringBuilder(Math.Min(value.Length, MaxLength + 8));

        // Where the text can be cut without splitting an escape or a surrogate pair, at most MaxLength - 3 long.
        var cut = 0;
        for (var i = 0; i < value.Length; i++)
        {
            i = Append(text, value, i);
            if (text.Length <= MaxLength - Ellipsis.Length)
            {
                cut = text.Length;
            }
            else if (text.Length > MaxLength)
            {
                text.Length = cut;
                return text.Append(Ellipsis).ToString();
            }
        }

        return text.ToString();
    }

    /// <summary>A whole message (or a log value) with its unprintable characters escaped and nothing cut.</summary>
    public static string Escape(string text)
    {
        var first = 0;
        while (first < text.Length && !NeedsEscape(text, first))
        {
            first++;
        }

        if (first == text.Length)
        {
            return text;
        }

        var escaped = new StringBuilder(text.Length + 16).Append(text, 0, first);
        for (var i = first; i < text.Length; i++)
        {
            i = Append(escaped, text, i);
        }

        return escaped.ToString();
    }

    /// <summary>Appends the character at <paramref name="i"/> (a surrogate pair whole), escaped where needed; returns the index of its last char.</summary>
    private static int Append(StringBuilder text, string value, int i)
    {
        var c = value[i];
        if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
        {
            text.Append(c).Append(value[i + 1]);
            return i + 1;
        }

        if (!NeedsEscape(value, i))
        {
            text.Append(c);
            return i;
        }

        _ = c switch
        {
            '\n' => text.Append("\\n"),
            '\r' => text.Append("\\r"),
            '\t' => text.Append("\\t"),
            <= '\u00ff' => text.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture)),
            _ => text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)),
        };
        return i;
    }

    private static bool NeedsEscape(string value, int i)
    {
        var c = value[i];
        return c switch
        {
            < ' ' or '\u007f' or (>= '\u0080' and <= '\u009f') => true,
            '\u2028' or '\u2029' => true,
            (>= '\u202a' and <= '\u202e') or (>= '\u2066' and <= '\u2069') or '\u200e' or '\u200f' or '\u061c' => true,
            _ when char.IsHighSurrogate(c) => i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]),
            _ when char.IsLowSurrogate(c) => i == 0 || !char.IsHighSurrogate(value[i - 1]),
            _ => false,
        };
    }
}
