using System.Globalization;

namespace Orchestrator.Balancer.Haproxy;

/// <summary>
/// One server slot as <c>show servers state</c> (format 1) gives it. The admin state is a bit set:
/// forced/inherited/resolver/health maintenance (0x01, 0x02, 0x20, 0x40) make a slot free; 0x04 is only
/// "configured disabled", which a slot keeps after it was made ready; forced/inherited drain (0x08, 0x10).
/// </summary>
internal sealed record ServerSlot(string Backend, string Name, string Address, int Port, int OperationalState, int AdminState, int Weight)
{
    private const int MaintenanceMask = 0x01 | 0x02 | 0x20 | 0x40;
    private const int DrainMask = 0x08 | 0x10;

    public bool Maintenance => (AdminState & MaintenanceMask) != 0;

    public bool Draining => (AdminState & DrainMask) != 0;

    public string Key => TargetKey.Of(Address, Port);

    /// <summary>The slots of <c>show servers state</c>'s answer; lines it cannot read are skipped.</summary>
    public static IReadOnlyList<ServerSlot> Parse(string answer)
    {
        var slots = new List<ServerSlot>();
        foreach (var line in answer.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight
            // srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state
            // srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port ...
            if (f.Length < 19 || !Int(f[5], out var op) || !Int(f[6], out var admin) || !Int(f[7], out var weight) || !Int(f[18], out var port))
            {
                continue;
            }

            slots.Add(new ServerSlot(f[1], f[3], f[4], port, op, admin, weight));
        }

        return slots;
    }

    private static bool Int(string text, out int value) => int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value);
}
