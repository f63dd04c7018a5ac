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

    // Issue 13's task definition fields. Where Docker or the kernel has a bound of its own, the
    // comment says which; the others bound a typing slip or a hostile request, not a real use.
    public const int MaxVolumes = 100;
    public const int MaxMountPoints = 100;
    public const int MaxTmpfs = 100;
    public const int MaxTmpfsMountOptions = 32;
    public const int MaxTmpfsSizeMiB = MaxMemoryMiB;
    public const int MaxSharedMemoryMiB = MaxMemoryMiB;
    public const int MaxDriverOptions = 100;
    public const int MaxOptionValueLength = 4096;

    /// <summary>PATH_MAX: a longer path cannot be mounted.</summary>
    public const int MaxPathLength = 4096;

    /// <summary>Each capability at most once in add and in drop: the kernel has 41 (and "ALL").</summary>
    public const int MaxCapabilities = 64;
    public const int MaxSecrets = 100;
    public const int MaxLogOptions = 32;
    public const int MaxLinks = 100;
    public const int MaxExtraHosts = 100;

    /// <summary>glibc and musl read at most three nameservers (MAXNS); a fourth would be ignored in silence.</summary>
    public const int MaxDnsServers = 3;

    /// <summary>The classic resolv.conf bound (glibc before 2.26 read six search domains).</summary>
    public const int MaxDnsSearchDomains = 6;

    /// <summary>ECS's bound.</summary>
    public const int MaxIgnoredExitCodes = 50;

    public static void Count<T>(IReadOnlyCollection<T> items, int max, string field)
    {
        if (items.Count > max)
        {
            throw RequestException.Invalid(field, $"at most {max} allowed, got {items.Count}");
        }
    }
}
