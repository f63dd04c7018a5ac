namespace Orchestrator.Balancer.Haproxy;

/// <summary>What the applier asks of HAProxy (<see cref="HaproxyRuntime"/>); every failure to reach it is a <see cref="HaproxyUnavailableException"/>.</summary>
internal interface IHaproxyRuntime
{
    string AdminSocket { get; }

    string MasterSocket { get; }

    Task<string> CommandAsync(string command, CancellationToken cancellationToken);

    Task<IReadOnlyList<ServerSlot>> ServersStateAsync(CancellationToken cancellationToken);

    Task<string> RawServersStateAsync(CancellationToken cancellationToken);

    Task<IReadOnlyList<StatRow>> StatAsync(CancellationToken cancellationToken);

    Task<MasterCounters> MasterCountersAsync(CancellationToken cancellationToken);

    Task ReloadAsync(CancellationToken cancellationToken);
}
