using System.Globalization;
using Orchestrator.Contracts.V1;

namespace Orchestrator.Agent.Tasks;

/// <summary>
/// A container's restart policy (ECS's): an exit is followed by a start of the same container unless
/// its exit code is ignored, or it ran less than the attempt period (it keeps failing at once; this also
/// bounds restarts to one per period).
/// </summary>
internal sealed record RestartRules(IReadOnlySet<int> IgnoredExitCodes, TimeSpan AttemptPeriod)
{
    public const int DefaultAttemptPeriodSeconds = 300;

    /// <returns>Null for no policy, or a disabled one.</returns>
    public static RestartRules? From(RestartPolicy? policy) =>
        policy is { Enabled: true }
            ? new RestartRules(
                policy.IgnoredExitCodes.ToHashSet(),
                TimeSpan.FromSeconds(policy.RestartAttemptPeriodSeconds > 0 ? policy.RestartAttemptPeriodSeconds : DefaultAttemptPeriodSeconds))
            : null;

    /// <param name="exitCode">Null when the engine did not say (the container is gone): restarted, as an unknown failure.</param>
    /// <param name="ranFor">How long it ran, from its last start to its exit.</param>
    /// <returns>Null when it is to be restarted; else why not, for the log.</returns>
    public string? WhyNotRestarted(int? exitCode, TimeSpan ranFor)
    {
        if (exitCode is { } code && IgnoredExitCodes.Contains(code))
        {
            return $"exit code {code} is in its ignoredExitCodes";
        }

        return ranFor < AttemptPeriod
            ? string.Create(CultureInfo.InvariantCulture, $"it ran {ranFor.TotalSeconds:0.#} s, less than its restartAttemptPeriod ({AttemptPeriod.TotalSeconds:0} s)")
            : null;
    }
}
