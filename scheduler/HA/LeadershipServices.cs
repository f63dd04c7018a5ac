using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.HA;

/// <summary>Who leads: the one scheduler of a LiteDB store, or the one etcd elects among several.</summary>
internal static class LeadershipServices
{
    public static IServiceCollection AddLeadership(this IServiceCollection services)
    {
        services.AddSingleton<ILeadership>(sp => new SoleLeadership(AdvertisedAddress.Of(sp.GetRequiredService<SchedulerOptions>())));
        return services;
    }
}
