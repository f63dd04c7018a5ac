using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>A container's restartPolicy, with ECS's bounds. Essential and non-essential containers may both have one.</summary>
internal static class RestartPolicyValidator
{
    /// <summary>The period when restartAttemptPeriodSeconds is 0, as ECS.</summary>
    public const int DefaultAttemptPeriodSeconds = 300;
    public const int MinAttemptPeriodSeconds = 60;
    public const int MaxAttemptPeriodSeconds = 1800;

    public static void Check(Contract.RestartPolicy? policy, string at)
    {
        if (policy is null)
        {
            return;
        }

        if (policy.RestartAttemptPeriodSeconds != 0)
        {
            TaskDefinitionValidator.CheckRange(policy.RestartAttemptPeriodSeconds, MinAttemptPeriodSeconds, MaxAttemptPeriodSeconds, $"{at}.restartAttemptPeriodSeconds", "seconds",
                $"must be 0 (the default, {DefaultAttemptPeriodSeconds} seconds) or {MinAttemptPeriodSeconds} to {MaxAttemptPeriodSeconds} seconds, not {policy.RestartAttemptPeriodSeconds}");
        }

        Limits.Count(policy.IgnoredExitCodes, Limits.MaxIgnoredExitCodes, $"{at}.ignoredExitCodes");
        for (var i = 0; i < policy.IgnoredExitCodes.Count; i++)
        {
            // An exit code is one byte: a process killed by a signal exits 128 + its number.
            TaskDefinitionValidator.CheckRange(policy.IgnoredExitCodes[i], 0, 255, $"{at}.ignoredExitCodes[{i}]", "");
        }
    }
}
