using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Orchestrator.Agent.Runtime.Containerd;

/// <summary>
/// What <see cref="ContainerdRuntime"/> keeps on each container as labels, so that an agent restarted
/// over the same containerd knows it again (nothing in agent memory only), and the pure functions that
/// write and read them.
/// </summary>
internal static class RuntimeLabels
{
    public const string Prefix = "orchestrator.runtime/";

    /// <summary>The host ports published (JSON list of <see cref="PortSpec"/>).</summary>
    public const string Ports = Prefix + "ports";

    /// <summary>"bridge", "none" or "host": how the network is torn down.</summary>
    public const string NetworkMode = Prefix + "network-mode";

    /// <summary>The image's STOPSIGNAL, empty for SIGTERM.</summary>
    public const string StopSignal = Prefix + "stop-signal";

    /// <summary>The container's cgroup ("/orchestrator/ID"), where an OOM kill is counted.</summary>
    public const string Cgroup = Prefix + "cgroup";

    /// <summary>Log rotation: bytes per file, and files kept; absent for log driver none.</summary>
    public const string LogMaxBytes = Prefix + "log-max-bytes";

    public const string LogMaxFiles = Prefix + "log-max-files";

    /// <summary>"true" once the kernel's OOM killer has been seen in the container (since its last start).</summary>
    public const string OomKilled = Prefix + "oom-killed";

    /// <summary>When the task last started (RFC 3339).</summary>
    public const string StartedAt = Prefix + "started-at";

    /// <summary>Docker's local driver's defaults: 20 MB a file, 5 files.</summary>
    public const long DefaultLogMaxBytes = 20 * 1000 * 1000;

    public const int DefaultLogMaxFiles = 5;

    public static string FormatPorts(IReadOnlyList<PortSpec> ports) =>
        JsonSerializer.Serialize(ports.Select(p => new PortLabel(p.ContainerPort, p.HostPort, p.Udp, p.HostIp)).ToList());

    public static IReadOnlyList<PortSpec> ParsePorts(IReadOnlyDictionary<string, string> labels)
    {
        if (!labels.TryGetValue(Ports, out var json) || json.Length == 0)
        {
            return [];
        }

        try
        {
            return [.. (JsonSerializer.Deserialize<List<PortLabel>>(json) ?? []).Select(p => new PortSpec(p.ContainerPort, p.HostPort, p.Udp, p.HostIp ?? ""))];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    /// <summary>
    /// Rotation of a container's log from its log options as Docker takes them ("max-size": 10k/20m/1g,
    /// "max-file"). Null for driver "none": no log is written.
    /// </summary>
    public static (long MaxBytes, int MaxFiles)? LogLimits(LogSpec? log)
    {
        if (log is { Driver: "none" })
        {
            return null;
        }

        var options = log?.Options ?? new Dictionary<string, string>();
        var maxBytes = options.TryGetValue("max-size", out var size) && ParseSize(size) is { } bytes and > 0 ? bytes : DefaultLogMaxBytes;
        var maxFiles = options.TryGetValue("max-file", out var files) && int.TryParse(files, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count > 0 ? count : DefaultLogMaxFiles;
        return (maxBytes, maxFiles);
    }

    /// <summary>Docker's sizes: a number with an optional unit b, k, m, g (decimal, as go-units' FromHumanSize; "kb"/"mib" alike).</summary>
    public static long? ParseSize(string value)
    {
        var text = value.Trim().ToLowerInvariant();
        var end = 0;
        while (end < text.Length && (char.IsDigit(text[end]) || text[end] == '.'))
        {
            end++;
        }

        if (end == 0 || !double.TryParse(text[..end], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return null;
        }

        var unit = text[end..].Trim();
        double? multiplier = unit switch
        {
            "" or "b" => 1,
            "k" or "kb" => 1e3,
            "m" or "mb" => 1e6,
            "g" or "gb" => 1e9,
            "kib" => 1024,
            "mib" => 1024 * 1024,
            "gib" => 1024 * 1024 * 1024,
            _ => null,
        };
        return multiplier is { } m ? (long)(number * m) : null;
    }

    /// <summary>A signal as an image's STOPSIGNAL gives it ("SIGTERM", "TERM", "15", "SIGRTMIN+3") as its Linux number; null if unknown.</summary>
    public static uint? ParseSignal(string signal)
    {
        var text = signal.Trim().ToUpperInvariant();
        if (text.Length == 0)
        {
            return 15;
        }

        if (uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return number is > 0 and < 65 ? number : null;
        }

        if (text.StartsWith("SIG", StringComparison.Ordinal))
        {
            text = text[3..];
        }

        if (text.StartsWith("RTMIN+", StringComparison.Ordinal) && uint.TryParse(text[6..], NumberStyles.None, CultureInfo.InvariantCulture, out var plus) && plus <= 30)
        {
            return 34 + plus;
        }

        if (text.StartsWith("RTMAX-", StringComparison.Ordinal) && uint.TryParse(text[6..], NumberStyles.None, CultureInfo.InvariantCulture, out var minus) && minus <= 30)
        {
            return 64 - minus;
        }

        return text switch
        {
            "HUP" => 1,
            "INT" => 2,
            "QUIT" => 3,
            "ILL" => 4,
            "TRAP" => 5,
            "ABRT" or "IOT" => 6,
            "BUS" => 7,
            "FPE" => 8,
            "KILL" => 9,
            "USR1" => 10,
            "SEGV" => 11,
            "USR2" => 12,
            "PIPE" => 13,
            "ALRM" => 14,
            "TERM" => 15,
            "STKFLT" => 16,
            "CHLD" => 17,
            "CONT" => 18,
            "STOP" => 19,
            "TSTP" => 20,
            "TTIN" => 21,
            "TTOU" => 22,
            "URG" => 23,
            "XCPU" => 24,
            "XFSZ" => 25,
            "VTALRM" => 26,
            "PROF" => 27,
            "WINCH" => 28,
            "IO" or "POLL" => 29,
            "PWR" => 30,
            "SYS" => 31,
            "RTMIN" => 34,
            "RTMAX" => 64,
            _ => null,
        };
    }

    /// <summary>containerd's filter that matches a label: <c>labels."KEY"=="VALUE"</c>, both quoted (keys have dots and slashes).</summary>
    public static string Filter(string key, string value) => $"labels.{Quote(key)}=={Quote(value)}";

    /// <summary>A quoted string of containerd's filter syntax (Go's strconv.Unquote rules: \" and \\ escaped).</summary>
    public static string Quote(string value)
    {
        var builder = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            if (c is '"' or '\\')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        return builder.Append('"').ToString();
    }

    private sealed record PortLabel(int ContainerPort, int HostPort, bool Udp, string? HostIp);
}
