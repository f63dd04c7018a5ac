using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>Bounds on request sizes. The README lists them; change both together.</summary>
internal static class Limits
{
    public const int MaxRequestBytes = 4 * 1024 * 1024;
    public const int MaxContainers = 10;
    public const int MaxPortMappings = 100;
    public const int MaxEnvironment = 1000;
    public const int MaxArguments = 1000;
    public const int MaxLabels = 100;
    public const int MaxStringLength = 32 * 1024;
    public const int MaxImageLength = 1024;
    public const int MaxCpu = 256 * 1024;
    public const int MaxMemoryMiB = 16 * 1024 * 1024;
    public const int MinMemoryMiB = 6;
    public const int MaxRunTaskCount = 1000;
    public const int MaxStrategies = 5;
    public const int MaxConstraints = 10;
    public const int MaxDescribe = 100;
    public const int MaxPageSize = 1000;
    public const int DefaultPageSize = 100;
    public const int MaxAttributes = 100;
    public const int MaxReasonLength = 1024;
    public const int MaxClientTokenLength = 64;

    public static void Count<T>(IReadOnlyCollection<T> items, int max, string field)
    {
        if (items.Count > max)
        {
            throw RequestException.Invalid(field, $"at most {max} allowed, got {items.Count}");
        }
    }
}
