using System.Collections.Frozen;
using System.Text.RegularExpressions;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>
/// How a container runs: user, workingDirectory, ulimits, startTimeoutSeconds and linuxParameters'
/// capabilities and sharedMemorySize. (privileged, readonlyRootFilesystem, pseudoTerminal, interactive
/// and initProcessEnabled are booleans with nothing to check; whether a node allows privileged is
/// decided at placement.)
/// </summary>
internal static partial class ContainerRuntimeOptionsValidator
{
    /// <summary>The default when startTimeoutSeconds is 0, as ECS.</summary>
    public const int DefaultStartTimeoutSeconds = 300;
    public const int MinStartTimeoutSeconds = 2;
    public const int MaxStartTimeoutSeconds = 600;

    /// <summary>Docker's ulimit names (its --ulimit list): the setrlimit resources without RLIMIT_AS.</summary>
    public static readonly FrozenSet<string> UlimitNames = new[]
    {
        "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>A ulimit of -1 is unlimited (RLIM_INFINITY), as Docker reads it.</summary>
    public const long Unlimited = -1;

    // One side of user: a name as useradd takes it (at most 32 characters), or a number.
    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$")]
    private static partial Regex UserPart();

    public static void Check(Contract.ContainerDefinition container, string at)
    {
        CheckUser(container.User, $"{at}.user");
        if (container.WorkingDirectory.Length > 0)
        {
            Paths.RequireAbsolute(container.WorkingDirectory, $"{at}.workingDirectory", rootAllowed: true, mounted: false);
        }

        CheckUlimits(container.Ulimits, $"{at}.ulimits");
        if (container.StartTimeoutSeconds != 0)
        {
            TaskDefinitionValidator.CheckRange(container.StartTimeoutSeconds, MinStartTimeoutSeconds, MaxStartTimeoutSeconds, $"{at}.startTimeoutSeconds", "seconds",
                $"must be 0 (the default, {DefaultStartTimeoutSeconds} seconds) or {MinStartTimeoutSeconds} to {MaxStartTimeoutSeconds} seconds, not {container.StartTimeoutSeconds}");
        }

        if (container.LinuxParameters is { } linux)
        {
            CheckCapabilities(linux.Capabilities, $"{at}.linuxParameters.capabilities");
            TaskDefinitionValidator.CheckRange(linux.SharedMemorySize, 0, Limits.MaxSharedMemoryMiB, $"{at}.linuxParameters.sharedMemorySize", "MiB");
        }
    }

    private static void CheckUser(string user, string field)
    {
        if (user.Length == 0)
        {
            return;
        }

        var parts = user.Split(':');
        if (parts.Length > 2 || !parts.All(IsUserPart))
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(user)}\" is not \"user\", \"uid\", \"user:group\" or \"uid:gid\": names of up to 32 letters, digits, '_', '.' and '-' (not starting with '.' or '-'), ids from 0 to 4294967294");
        }
    }

    /// <summary>A name, or an id that fits a uid_t and is not (uid_t)-1, which means "no change" to the kernel.</summary>
    private static bool IsUserPart(string part) =>
        UserPart().IsMatch(part) && (!part.All(char.IsAsciiDigit) || (uint.TryParse(part, out var id) && id != uint.MaxValue));

    private static void CheckUlimits(IReadOnlyList<Contract.Ulimit> ulimits, string field)
    {
        Limits.Count(ulimits, UlimitNames.Count, field);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < ulimits.Count; i++)
        {
            var ulimit = ulimits[i];
            var at = $"{field}[{i}]";
            if (!UlimitNames.Contains(ulimit.Name))
            {
                throw RequestException.Invalid($"{at}.name", $"\"{Echo.Clip(ulimit.Name)}\" is not a ulimit: use {string.Join(", ", UlimitNames.Order(StringComparer.Ordinal))}");
            }

            if (!seen.TryAdd(ulimit.Name, i))
            {
                throw RequestException.Invalid($"{at}.name", $"\"{ulimit.Name}\" is also set by {field}[{seen[ulimit.Name]}]");
            }

            CheckLimit(ulimit.SoftLimit, $"{at}.softLimit");
            CheckLimit(ulimit.HardLimit, $"{at}.hardLimit");
            if (Effective(ulimit.SoftLimit) > Effective(ulimit.HardLimit))
            {
                throw RequestException.Invalid($"{at}.softLimit", $"{Show(ulimit.SoftLimit)} is more than the hardLimit, {Show(ulimit.HardLimit)}");
            }
        }
    }

    private static void CheckLimit(long value, string field)
    {
        if (value < Unlimited)
        {
            throw RequestException.Invalid(field, $"must be -1 (unlimited) or 0 or more, not {value}");
        }
    }

    private static ulong Effective(long value) => value == Unlimited ? ulong.MaxValue : (ulong)value;

    private static string Show(long value) => value == Unlimited ? "-1 (unlimited)" : value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static void CheckCapabilities(Contract.KernelCapabilities? capabilities, string field)
    {
        if (capabilities is null)
        {
            return;
        }

        var added = CheckCapabilityList(capabilities.Add, $"{field}.add");
        var dropped = CheckCapabilityList(capabilities.Drop, $"{field}.drop");
        foreach (var (name, index) in dropped)
        {
            // Dropping ALL and adding some back is the usual least-privilege idiom; one name on both
            // sides (ALL too) says two things, and which wins is Docker's code, not the reader's guess.
            if (added.TryGetValue(name, out var addedAt))
            {
                throw RequestException.Invalid($"{field}.drop[{index}]", $"\"{name}\" is also in add[{addedAt}]");
            }
        }
    }

    private static Dictionary<string, int> CheckCapabilityList(IReadOnlyList<string> names, string field)
    {
        Limits.Count(names, Limits.MaxCapabilities, field);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < names.Count; i++)
        {
            var name = names[i];
            if (!LinuxCapabilities.IsName(name))
            {
                var respelled = LinuxCapabilities.Respelling(name);
                throw RequestException.Invalid($"{field}[{i}]", respelled is not null
                    ? $"write \"{respelled}\": capabilities are upper case, without \"CAP_\""
                    : $"\"{Echo.Clip(name)}\" is not a Linux capability (e.g. \"NET_ADMIN\", \"SYS_TIME\", or \"ALL\")");
            }

            if (!seen.TryAdd(name, i))
            {
                throw RequestException.Invalid($"{field}[{i}]", $"\"{name}\" is also {field}[{seen[name]}]");
            }
        }

        return seen;
    }
}
