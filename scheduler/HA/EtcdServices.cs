using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;
using Orchestrator.Scheduler.Storage.Etcd;

namespace Orchestrator.Scheduler.HA;

/// <summary>
/// Several schedulers on etcd (Scheduler:Store=etcd): the store, the election, a standby's following
/// and taking over, a deposed leader's restart, the shared CA and secrets key, etcd's compaction, and
/// the leadership in the health answer. Everything else of the scheduler is as on LiteDB.
/// </summary>
internal static class EtcdServices
{
    public static IServiceCollection AddEtcdHighAvailability(this IServiceCollection services)
    {
        services.AddSingleton(sp => ConnectedEtcd.Open(sp.GetRequiredService<SchedulerOptions>().Etcd));
        services.AddSingleton(sp => sp.GetRequiredService<EtcdConnection>().Client);
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<SchedulerOptions>();
            return new EtcdLeadership(sp.GetRequiredService<dotnet_etcd.EtcdClient>(), options.Etcd, AdvertisedAddress.Of(options),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<EtcdLeadership>>());
        });
        services.AddSingleton<ILeadership>(sp => sp.GetRequiredService<EtcdLeadership>());
        services.AddSingleton(sp =>
        {
            var leadership = sp.GetRequiredService<EtcdLeadership>();
            return new EtcdStateStore(sp.GetRequiredService<dotnet_etcd.EtcdClient>(), sp.GetRequiredService<SchedulerOptions>().Etcd, () => leadership.Fence, fenceLost: leadership.FenceLost);
        });
        services.AddSingleton<IStateStore>(sp => sp.GetRequiredService<EtcdStateStore>());
        services.AddSingleton(sp => new EtcdCompactor(sp.GetRequiredService<dotnet_etcd.EtcdClient>(), sp.GetRequiredService<SchedulerOptions>().Etcd.Prefix, sp.GetRequiredService<TimeProvider>()));

        // The CA and the secrets key come from etcd (or go there, from the first scheduler) before either is loaded.
        services.AddSingleton<SharedSecurityMaterial>();
        services.AddSingleton(sp => SharedSecurityReady.Synchronize(sp.GetRequiredService<SharedSecurityMaterial>(), sp.GetRequiredService<EtcdStateStore>(), sp.GetRequiredService<SchedulerOptions>().Etcd));

        // The election after the state is loaded (Program opens it first); the follower applies commits from the load on.
        services.AddHostedService(sp => sp.GetRequiredService<EtcdLeadership>());
        services.AddHostedService<StandbyFollower>();
        services.AddHostedService<DeposedLeaderExit>();
        services.AddHostedService<EtcdHistoryCompaction>();
        return services;
    }
}
