using System.Net;

namespace Orchestrator.Balancer.Hosting;

/// <summary>HAProxy's files and sockets as the balancer uses them (Balancer:Haproxy:*).</summary>
internal sealed class HaproxyOptions
{
    public string ConfigPath { get; set; } = "/etc/haproxy/orchestrator-balancer.cfg";

    public string AdminSocket { get; set; } = "/run/haproxy/orchestrator-admin.sock";

    public string MasterSocket { get; set; } = "/run/haproxy-master.sock";

    public string StateFile { get; set; } = "/var/lib/haproxy/orchestrator-balancer.state";

    public string BindAddress { get; set; } = "0.0.0.0";

    public int ReloadTimeoutSeconds { get; set; } = 15;

    /// <summary>The user and group HAProxy's workers run as and that owns the admin socket ("haproxy" under the systemd unit); empty: as HAProxy was started.</summary>
    public string RunAs { get; set; } = "";
}

/// <summary>The balancer's settings (section Balancer), checked by <see cref="Validate"/> before the host starts.</summary>
internal sealed class BalancerOptions
{
    public const string Section = "Balancer";

    public string? Name { get; set; }

    /// <summary>One or several scheduler addresses, comma-separated: https://HOST:PORT (http:// for a scheduler started with Scheduler:Insecure).</summary>
    public string Schedulers { get; set; } = "https://127.0.0.1:7400";

    public string? CaCertificate { get; set; }

    public string? TokenFile { get; set; }

    /// <summary>The target groups served, comma-separated; empty: all of them.</summary>
    public string? TargetGroups { get; set; }

    public HaproxyOptions Haproxy { get; set; } = new();

    public string EffectiveName => string.IsNullOrWhiteSpace(Name) ? Dns.GetHostName() : Name.Trim();

    public IReadOnlySet<string> ServedGroups =>
        (TargetGroups ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);

    /// <summary>Every bad value as a FormatException naming its setting.</summary>
    public void Validate()
    {
        var name = EffectiveName;
        if (name.Length is < 1 or > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            throw new FormatException($"{Section}:Name must be 1 to 64 of letters, digits, '.', '_' and '-', not \"{name}\"");
        }

        _ = SchedulerList.Parse(Schedulers);
        foreach (var group in ServedGroups)
        {
            if (group.Length > 32 || !group.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                throw new FormatException($"{Section}:TargetGroups: \"{group}\" is not a target group name (1 to 32 letters, digits and hyphens)");
            }
        }

        Absolute(Haproxy.ConfigPath, "ConfigPath");
        Absolute(Haproxy.AdminSocket, "AdminSocket");
        Absolute(Haproxy.MasterSocket, "MasterSocket");
        Absolute(Haproxy.StateFile, "StateFile");
        if (!IPAddress.TryParse(Haproxy.BindAddress, out _))
        {
            throw new FormatException($"{Section}:Haproxy:BindAddress must be an IP address (0.0.0.0, ::, 10.0.0.5), not \"{Haproxy.BindAddress}\"");
        }

        if (Haproxy.RunAs.Length > 0 && !System.Text.RegularExpressions.Regex.IsMatch(Haproxy.RunAs, "^[a-z_][a-z0-9_-]{0,31}\\z"))
        {
            throw new FormatException($"{Section}:Haproxy:RunAs must be a user and group name (haproxy), not \"{Haproxy.RunAs}\"");
        }

        if (Haproxy.ReloadTimeoutSeconds is < 1 or > 300)
        {
            throw new FormatException($"{Section}:Haproxy:ReloadTimeoutSeconds must be 1..300, not {Haproxy.ReloadTimeoutSeconds}");
        }
    }

    /// <summary>The API token from Balancer:TokenFile (never logged), or null when none is set.</summary>
    public string? ReadToken()
    {
        if (string.IsNullOrWhiteSpace(TokenFile))
        {
            return null;
        }

        string token;
        try
        {
            token = File.ReadAllText(TokenFile).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"{Section}:TokenFile {TokenFile}: {e.Message}");
        }

        return token.Length > 0 ? token : throw new FormatException($"{Section}:TokenFile {TokenFile} is empty");
    }

    private static void Absolute(string path, string setting)
    {
        if (string.IsNullOrWhiteSpace(path) || !Path.IsPathFullyQualified(path))
        {
            throw new FormatException($"{Section}:Haproxy:{setting} must be an absolute path, not \"{path}\"");
        }
    }
}
