using System.Globalization;
using System.Text.RegularExpressions;

namespace Orchestrator.Agent.Runtime.Logs;

/// <summary>A log size as Docker's max-size writes it: "10m", "512k", "1g", or bytes ("4096").</summary>
internal static partial class LogSize
{
    /// <summary>Docker's units (go-units RAMInBytes, as json-file and local use): binary, k = 1024.</summary>
    public static bool TryParse(string value, out long bytes)
    {
        bytes = 0;
        if (!Form().IsMatch(value))
        {
            return false;
        }

        var multiplier = value[^1] switch
        {
            'k' => 1024L,
            'm' => 1024L * 1024,
            'g' => 1024L * 1024 * 1024,
            _ => 1L,
        };
        var digits = multiplier == 1 ? value : value[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number > long.MaxValue / multiplier)
        {
            return false;
        }

        bytes = number * multiplier;
        return true;
    }

    /// <exception cref="FormatException">It is not such a size.</exception>
    public static long Parse(string value) =>
        TryParse(value, out var bytes) ? bytes : throw new FormatException($"\"{value}\" is not a size as Docker writes it (10m, 512k, 1g)");

    [GeneratedRegex("^[1-9][0-9]*[kmg]?$")]
    private static partial Regex Form();
}
