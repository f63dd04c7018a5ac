using System.Globalization;

namespace Orchestrator.Balancer.Haproxy;

/// <summary>
/// A target group's matcher ("200", "200,204", "200-299") as an <c>http-check expect</c> line: a single
/// code with <c>status</c>, anything else with <c>rstatus</c> and an anchored alternation of its codes.
/// </summary>
internal static class HttpStatusMatcher
{
    public static string ExpectLine(string matcher)
    {
        var codes = Codes(matcher);
        return codes.Count == 1
            ? $"http-check expect status {codes[0]}"
            : $"http-check expect rstatus ^({string.Join('|', codes)})$";
    }

    public static IReadOnlyList<int> Codes(string matcher)
    {
        var codes = new SortedSet<int>();
        foreach (var part in (string.IsNullOrWhiteSpace(matcher) ? "200" : matcher).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            var (low, high) = dash < 0 ? (Code(part, matcher), Code(part, matcher)) : (Code(part[..dash], matcher), Code(part[(dash + 1)..], matcher));
            if (high < low)
            {
                throw new FormatException($"health check matcher \"{matcher}\": the range {part} ends before it starts");
            }

            for (var code = low; code <= high; code++)
            {
                codes.Add(code);
            }
        }

        return codes.Count > 0 ? [.. codes] : throw new FormatException($"health check matcher \"{matcher}\" names no status code");
    }

    private static int Code(string text, string matcher) =>
        int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var code) && code is >= 100 and <= 599
            ? code
            : throw new FormatException($"health check matcher \"{matcher}\": \"{text}\" is not an HTTP status code (100..599)");
}
