using System.Globalization;

namespace Orchestrator.Balancer.Haproxy;

/// <summary>
/// One server's line of <c>show stat</c> (CSV): its status ("UP", "DOWN", "UP 1/2" while a check result
/// is still counting, "DRAIN", "MAINT", "NOLB"), its last check ("L7OK", "L4CON", "INI" before the first),
/// that check's description and its current sessions.
/// </summary>
internal sealed record StatRow(string Backend, string Server, string Status, string CheckStatus, string CheckCode, string CheckDescription, int CurrentSessions)
{
    /// <summary>The server rows of <c>show stat</c>'s answer, columns found by the header's names.</summary>
    public static IReadOnlyList<StatRow> Parse(string csv)
    {
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0 || !lines[0].StartsWith("# ", StringComparison.Ordinal))
        {
            return [];
        }

        var header = lines[0][2..].Split(',');
        int Column(string name) => Array.IndexOf(header, name);
        int px = Column("pxname"), sv = Column("svname"), scur = Column("scur"), status = Column("status");
        int checkStatus = Column("check_status"), checkCode = Column("check_code"), checkDesc = Column("check_desc");
        var rows = new List<StatRow>();
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(',');
            string At(int i) => i >= 0 && i < f.Length ? f[i] : "";
            var server = At(sv);
            if (server is "" or "FRONTEND" or "BACKEND")
            {
                continue;
            }

            _ = int.TryParse(At(scur), NumberStyles.Integer, CultureInfo.InvariantCulture, out var sessions);
            rows.Add(new StatRow(At(px), server, At(status), At(checkStatus), At(checkCode), At(checkDesc), sessions));
        }

        return rows;
    }
}
