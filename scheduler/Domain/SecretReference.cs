using System.Globalization;
using System.Text.RegularExpressions;

namespace Orchestrator.Scheduler.Domain;

/// <summary>
/// A container's secrets[].valueFrom: "NAME" (the latest version when the task is placed) or
/// "NAME:VERSION". Secret names are letters, digits, '-', '_' and '.', up to 128, so the colon is
/// never part of a name.
/// </summary>
internal readonly partial record struct SecretReference(string Name, int? Version)
{
    public const int MaxNameLength = 128;

    [GeneratedRegex("^[A-Za-z0-9_.-]+$")]
    private static partial Regex NamePattern();

    public static bool IsValidName(string name) => name.Length is > 0 and <= MaxNameLength && NamePattern().IsMatch(name);

    /// <summary>The reference, or false when it is not "NAME" or "NAME:VERSION" (VERSION 1 or more).</summary>
    public static bool TryParse(string valueFrom, out SecretReference reference)
    {
        reference = default;
        var colon = valueFrom.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? valueFrom : valueFrom[..colon];
        if (!IsValidName(name))
        {
            return false;
        }

        if (colon < 0)
        {
            reference = new SecretReference(name, null);
            return true;
        }

        if (!int.TryParse(valueFrom.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var version) || version < 1)
        {
            return false;
        }

        reference = new SecretReference(name, version);
        return true;
    }

    /// <summary>The secret's name in a valueFrom that parses (<see cref="TryParse"/>): what comes before any colon.</summary>
    public static string NameOf(string valueFrom)
    {
        var colon = valueFrom.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? valueFrom : valueFrom[..colon];
    }

    public override string ToString() => Version is { } version ? $"{Name}:{version}" : Name;
}
