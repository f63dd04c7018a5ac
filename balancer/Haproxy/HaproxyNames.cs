using System.Security.Cryptography;
using System.Text;

namespace Orchestrator.Balancer.Haproxy;

/// <summary>
/// The HAProxy names of a target group's frontend and backend and of its server slots. Target group names
/// are letters, digits and hyphens (the scheduler checks), which HAProxy takes as they are; anything else
/// is replaced by '_' and a short digest of the name is added, so that two names never meet in one.
/// </summary>
internal static class HaproxyNames
{
    public const string SlotPrefix = "s";

    public static string Backend(string group) => "be_" + Safe(group);

    public static string Frontend(string group) => "fe_" + Safe(group);

    public static string Slot(int number) => SlotPrefix + number.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static string Safe(string name)
    {
        var clean = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            clean.Append(char.IsAsciiLetterOrDigit(c) || c == '-' ? c : '_');
        }

        var safe = clean.ToString();
        if (safe == name && name.Length > 0)
        {
            return name;
        }

        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..8];
        return $"{safe}_{digest}";
    }
}
