using System.Globalization;
using System.Text.RegularExpressions;

namespace Orchestrator.Balancer.Haproxy;

/// <summary>HAProxy's master process as <c>show proc</c> counts it: reloads done, and how many of them failed.</summary>
internal sealed record MasterCounters(int Reloads, int Failed);

/// <summary>
/// HAProxy's runtime API: the admin socket (one command per connection; <c>show servers state</c>,
/// <c>show stat</c>, <c>set server</c>, <c>set weight</c>) and the master CLI (<c>reload</c>, <c>show proc</c>).
/// </summary>
internal sealed partial class HaproxyRuntime(string adminSocket, string masterSocket) : IHaproxyRuntime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public string AdminSocket => adminSocket;

    public string MasterSocket => masterSocket;

    public Task<string> CommandAsync(string command, CancellationToken cancellationToken) =>
        UnixSocketCommand.SendAsync(adminSocket, "admin socket", command, Timeout, cancellationToken);

    public async Task<IReadOnlyList<ServerSlot>> ServersStateAsync(CancellationToken cancellationToken) =>
        ServerSlot.Parse(await CommandAsync("show servers state", cancellationToken));

    public async Task<string> RawServersStateAsync(CancellationToken cancellationToken) => await CommandAsync("show servers state", cancellationToken);

    public async Task<IReadOnlyList<StatRow>> StatAsync(CancellationToken cancellationToken) =>
        StatRow.Parse(await CommandAsync("show stat", cancellationToken));

    public async Task<MasterCounters> MasterCountersAsync(CancellationToken cancellationToken) =>
        ParseShowProc(await UnixSocketCommand.SendAsync(masterSocket, "master socket", "show proc", Timeout, cancellationToken));

    public async Task ReloadAsync(CancellationToken cancellationToken) =>
        // 2.6 answers nothing: the master re-executes itself and closes the connection.
        await UnixSocketCommand.SendAsync(masterSocket, "master socket", "reload", Timeout, cancellationToken);

    /// <summary>The master's line of <c>show proc</c>: "15478 master 2 [failed: 1] 0d00h11m12s 2.6.12".</summary>
    public static MasterCounters ParseShowProc(string answer)
    {
        var match = MasterLine().Match(answer);
        return match.Success
            ? new MasterCounters(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture))
            : throw new HaproxyUnavailableException($"haproxy's master socket answered show proc with no master line: \"{answer.Trim()}\"");
    }

    [GeneratedRegex(@"^\d+\s+master\s+(\d+)\s+\[failed:\s*(\d+)\]", RegexOptions.Multiline)]
    private static partial Regex MasterLine();
}
