using Microsoft.Extensions.Options;

namespace Orchestrator.Scheduler.State;

/// <summary>
/// Checks the Scheduler section once, at start (ValidateOnStart), so that a setting that cannot work
/// stops the daemon with one line naming it, instead of failing later wherever it is first used.
/// </summary>
internal sealed class SchedulerOptionsValidator : IValidateOptions<SchedulerOptions>
{
    public ValidateOptionsResult Validate(string? name, SchedulerOptions options)
    {
        var problems = new List<string>();
        if (!options.TryParseDynamicPortRange(out _))
        {
            problems.Add(options.DynamicPortRangeProblem);
        }

        // The agent is told the interval in whole seconds, at least one.
        if (options.HeartbeatInterval < TimeSpan.FromSeconds(1) || options.HeartbeatInterval > TimeSpan.FromMinutes(5))
        {
            problems.Add($"Scheduler:HeartbeatInterval must be from 00:00:01 to 00:05:00, not {options.HeartbeatInterval}");
        }
        else if (options.HeartbeatTimeout <= options.HeartbeatInterval)
        {
            problems.Add($"Scheduler:HeartbeatTimeout must be longer than Scheduler:HeartbeatInterval ({options.HeartbeatInterval}), not {options.HeartbeatTimeout}");
        }

        if (options.NodeLostGrace < TimeSpan.Zero)
        {
            problems.Add($"Scheduler:NodeLostGrace must be 0 or more, not {options.NodeLostGrace}");
        }

        if (options.StoppedTaskRetention <= TimeSpan.Zero)
        {
            problems.Add($"Scheduler:StoppedTaskRetention must be more than 0, not {options.StoppedTaskRetention}");
        }

        // Agents renew with a third of the lifetime left, checking at least hourly: shorter makes no sense.
        if (options.NodeCertificateLifetime < TimeSpan.FromMinutes(10))
        {
            problems.Add($"Scheduler:NodeCertificateLifetime must be at least 10 minutes, not {options.NodeCertificateLifetime}");
        }

        problems.AddRange(Storage.Etcd.EtcdOptionsCheck.Problems(options));
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
