using System.Globalization;
using Google.Protobuf.WellKnownTypes;

namespace Orchestrator.Cli.Commands;

/// <summary>--since: an RFC 3339 time (2026-12-05T10:00:00Z) or a duration back from now (90s, 10m, 2h, 1d).</summary>
internal static class TimeArgument
{
    public static Timestamp Parse(string text, string flag)
    {
        if (text.Length >= 2 && int.TryParse(text[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            TimeSpan? back = text[^1] switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                'd' => TimeSpan.FromDays(amount),
                _ => null,
            };
            if (back is { } duration)
            {
                return Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow - duration);
            }
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            return Timestamp.FromDateTimeOffset(time);
        }

        throw new CliException($"{flag}: \"{text}\" is neither a time (2026-12-05T10:00:00Z) nor a duration (90s, 10m, 2h, 1d)");
    }
}
