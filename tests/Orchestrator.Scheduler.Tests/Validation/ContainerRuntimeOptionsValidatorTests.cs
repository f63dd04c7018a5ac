using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Validation;

namespace Orchestrator.Scheduler.Tests.Validation;

/// <summary>user, workingDirectory, ulimits, startTimeoutSeconds, capabilities, sharedMemorySize and restartPolicy.</summary>
internal sealed class ContainerRuntimeOptionsValidatorTests
{
    private const string UserRule = "is not \"user\", \"uid\", \"user:group\" or \"uid:gid\": names of up to 32 letters, digits, '_', '.' and '-' (not starting with '.' or '-'), ids from 0 to 4294967294";
    private const string Ulimits = "core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack";

    private static IEnumerable<TestCaseData> Refusals()
    {
        var c = FullDefinition.Refused;
        yield return c("user with a space", r => r.ContainerDefinitions[0].User = "www data", $"containerDefinitions[0].user: \"www data\" {UserRule}");
        yield return c("user with two colons", r => r.ContainerDefinitions[0].User = "1000:1000:1000", $"containerDefinitions[0].user: \"1000:1000:1000\" {UserRule}");
        yield return c("user with an empty group", r => r.ContainerDefinitions[0].User = "app:", $"containerDefinitions[0].user: \"app:\" {UserRule}");
        yield return c("user with only a group", r => r.ContainerDefinitions[0].User = ":app", $"containerDefinitions[0].user: \":app\" {UserRule}");
        yield return c("uid of (uid_t)-1", r => r.ContainerDefinitions[0].User = "4294967295", $"containerDefinitions[0].user: \"4294967295\" {UserRule}");
        yield return c("negative uid", r => r.ContainerDefinitions[0].User = "-1", $"containerDefinitions[0].user: \"-1\" {UserRule}");
        yield return c("user name of 33 characters", r => r.ContainerDefinitions[0].User = new string('u', 33), $"containerDefinitions[0].user: \"{new string('u', 33)}\" {UserRule}");
        yield return c("relative working directory", r => r.ContainerDefinitions[0].WorkingDirectory = "srv", "containerDefinitions[0].workingDirectory: \"srv\" is not an absolute, normalized path: it starts with '/' and has no empty, \".\" or \"..\" segment and no trailing '/'");
        yield return c("working directory climbing up", r => r.ContainerDefinitions[0].WorkingDirectory = "/srv/..", "containerDefinitions[0].workingDirectory: \"/srv/..\" is not an absolute, normalized path: it starts with '/' and has no empty, \".\" or \"..\" segment and no trailing '/'");
        yield return c("unknown ulimit", r => r.ContainerDefinitions[0].Ulimits[0].Name = "files", $"containerDefinitions[0].ulimits[0].name: \"files\" is not a ulimit: use {Ulimits}");
        yield return c("ulimit in capitals", r => r.ContainerDefinitions[0].Ulimits[0].Name = "NOFILE", $"containerDefinitions[0].ulimits[0].name: \"NOFILE\" is not a ulimit: use {Ulimits}");
        yield return c("ulimit twice", r => r.ContainerDefinitions[0].Ulimits[1].Name = "nofile", "containerDefinitions[0].ulimits[1].name: \"nofile\" is also set by containerDefinitions[0].ulimits[0]");
        yield return c("soft limit above hard", r => r.ContainerDefinitions[0].Ulimits[0].SoftLimit = 8192, "containerDefinitions[0].ulimits[0].softLimit: 8192 is more than the hardLimit, 4096");
        yield return c("unlimited soft limit under a hard one", r => r.ContainerDefinitions[0].Ulimits[0].SoftLimit = -1, "containerDefinitions[0].ulimits[0].softLimit: -1 (unlimited) is more than the hardLimit, 4096");
        yield return c("soft limit below -1", r => r.ContainerDefinitions[0].Ulimits[0].SoftLimit = -2, "containerDefinitions[0].ulimits[0].softLimit: must be -1 (unlimited) or 0 or more, not -2");
        yield return c("hard limit below -1", r => r.ContainerDefinitions[0].Ulimits[0].HardLimit = long.MinValue, "containerDefinitions[0].ulimits[0].hardLimit: must be -1 (unlimited) or 0 or more, not -9223372036854775808");
        yield return c("more ulimits than names", r => r.ContainerDefinitions[1].Ulimits.AddRange(Enumerable.Range(0, 15).Select(_ => new Ulimit { Name = "nofile" })), "containerDefinitions[1].ulimits: at most 15 allowed, got 16");
        yield return c("start timeout of 1 second", r => r.ContainerDefinitions[0].StartTimeoutSeconds = 1, "containerDefinitions[0].startTimeoutSeconds: must be 0 (the default, 300 seconds) or 2 to 600 seconds, not 1");
        yield return c("negative start timeout", r => r.ContainerDefinitions[0].StartTimeoutSeconds = -5, "containerDefinitions[0].startTimeoutSeconds: must be 0 (the default, 300 seconds) or 2 to 600 seconds, not -5");
        yield return c("start timeout past 10 minutes", r => r.ContainerDefinitions[0].StartTimeoutSeconds = 601, "containerDefinitions[0].startTimeoutSeconds: must be at most 600 seconds, not 601");
        yield return c("capability with its prefix", r => r.ContainerDefinitions[0].LinuxParameters.Capabilities.Add[0] = "CAP_NET_BIND_SERVICE", "containerDefinitions[0].linuxParameters.capabilities.add[0]: write \"NET_BIND_SERVICE\": capabilities are upper case, without \"CAP_\"");
        yield return c("capability in lower case", r => r.ContainerDefinitions[0].LinuxParameters.Capabilities.Drop[0] = "all", "containerDefinitions[0].linuxParameters.capabilities.drop[0]: write \"ALL\": capabilities are upper case, without \"CAP_\"");
        yield return c("unknown capability", r => r.ContainerDefinitions[0].LinuxParameters.Capabilities.Add[1] = "NET_SNIFF", "containerDefinitions[0].linuxParameters.capabilities.add[1]: \"NET_SNIFF\" is not a Linux capability (e.g. \"NET_ADMIN\", \"SYS_TIME\", or \"ALL\")");
        yield return c("capability added twice", r => r.ContainerDefinitions[0].LinuxParameters.Capabilities.Add.Add("CHOWN"), "containerDefinitions[0].linuxParameters.capabilities.add[2]: \"CHOWN\" is also containerDefinitions[0].linuxParameters.capabilities.add[1]");
        yield return c("capability added and dropped", r => r.ContainerDefinitions[0].LinuxParameters.Capabilities.Drop.Add("CHOWN"), "containerDefinitions[0].linuxParameters.capabilities.drop[1]: \"CHOWN\" is also in add[1]");
        yield return c("ALL added and dropped", r => r.ContainerDefinitions[0].LinuxParameters.Capabilities.Add.Add("ALL"), "containerDefinitions[0].linuxParameters.capabilities.drop[0]: \"ALL\" is also in add[2]");
        yield return c("too many capabilities", r => r.ContainerDefinitions[0].LinuxParameters.Capabilities.Drop.AddRange(Enumerable.Repeat("KILL", 64)), "containerDefinitions[0].linuxParameters.capabilities.drop: at most 64 allowed, got 65");
        yield return c("negative shared memory", r => r.ContainerDefinitions[0].LinuxParameters.SharedMemorySize = -1, "containerDefinitions[0].linuxParameters.sharedMemorySize: must be at least 0 MiB, not -1");
        yield return c("shared memory past any memory", r => r.ContainerDefinitions[0].LinuxParameters.SharedMemorySize = int.MaxValue, "containerDefinitions[0].linuxParameters.sharedMemorySize: must be at most 16777216 MiB, not 2147483647");

        yield return c("restart period below a minute", r => r.ContainerDefinitions[0].RestartPolicy.RestartAttemptPeriodSeconds = 59, "containerDefinitions[0].restartPolicy.restartAttemptPeriodSeconds: must be 0 (the default, 300 seconds) or 60 to 1800 seconds, not 59");
        yield return c("negative restart period", r => r.ContainerDefinitions[0].RestartPolicy.RestartAttemptPeriodSeconds = -1, "containerDefinitions[0].restartPolicy.restartAttemptPeriodSeconds: must be 0 (the default, 300 seconds) or 60 to 1800 seconds, not -1");
        yield return c("restart period past half an hour", r => r.ContainerDefinitions[0].RestartPolicy.RestartAttemptPeriodSeconds = 1801, "containerDefinitions[0].restartPolicy.restartAttemptPeriodSeconds: must be at most 1800 seconds, not 1801");
        yield return c("ignored exit code past a byte", r => r.ContainerDefinitions[0].RestartPolicy.IgnoredExitCodes.Add(256), "containerDefinitions[0].restartPolicy.ignoredExitCodes[2]: must be at most 255, not 256");
        yield return c("negative ignored exit code", r => r.ContainerDefinitions[0].RestartPolicy.IgnoredExitCodes[0] = -1, "containerDefinitions[0].restartPolicy.ignoredExitCodes[0]: must be at least 0, not -1");
        yield return c("51 ignored exit codes", r => r.ContainerDefinitions[0].RestartPolicy.IgnoredExitCodes.AddRange(Enumerable.Range(1, 49)), "containerDefinitions[0].restartPolicy.ignoredExitCodes: at most 50 allowed, got 51");
    }

    private static IEnumerable<TestCaseData> Acceptances()
    {
        var a = FullDefinition.Accepted;
        yield return a("a user name", r => r.ContainerDefinitions[0].User = "www-data");
        yield return a("a user and a group name", r => r.ContainerDefinitions[0].User = "www-data:www-data");
        yield return a("a user name and a gid", r => r.ContainerDefinitions[0].User = "nobody:65534");
        yield return a("a uid and a group name", r => r.ContainerDefinitions[0].User = "0:root");
        yield return a("the largest uid", r => r.ContainerDefinitions[0].User = "4294967294");
        yield return a("a working directory of /", r => r.ContainerDefinitions[0].WorkingDirectory = "/");
        yield return a("a working directory with a colon (not a mount)", r => r.ContainerDefinitions[0].WorkingDirectory = "/srv/a:b");
        yield return a("every ulimit once", r =>
        {
            r.ContainerDefinitions[0].Ulimits.Clear();
            r.ContainerDefinitions[0].Ulimits.AddRange(ContainerRuntimeOptionsValidator.UlimitNames.Select(n => new Ulimit { Name = n, SoftLimit = 1, HardLimit = 1 }));
        });
        yield return a("a start timeout of 2 seconds", r => r.ContainerDefinitions[0].StartTimeoutSeconds = 2);
        yield return a("every capability added", r => r.ContainerDefinitions[1].LinuxParameters = new LinuxParameters { Capabilities = new KernelCapabilities { Add = { LinuxCapabilities.Names } } });
        yield return a("ALL added and one dropped", r => r.ContainerDefinitions[1].LinuxParameters = new LinuxParameters { Capabilities = new KernelCapabilities { Add = { "ALL" }, Drop = { "SYS_ADMIN" } } });
        yield return a("a restart policy on an essential container", r => r.ContainerDefinitions[1].RestartPolicy = new RestartPolicy { Enabled = true, RestartAttemptPeriodSeconds = 1800, IgnoredExitCodes = { 255 } });
        yield return a("a disabled restart policy with settings", r => r.ContainerDefinitions[1].RestartPolicy = new RestartPolicy { RestartAttemptPeriodSeconds = 600 });
        yield return a("50 ignored exit codes", r => r.ContainerDefinitions[0].RestartPolicy.IgnoredExitCodes.AddRange(Enumerable.Range(1, 48)));
    }

    [TestCaseSource(nameof(Refusals))]
    public string Bad_runtime_option_is_refused_naming_the_field(RegisterTaskDefinitionRequest request) => FullDefinition.RefusalOf(request);

    [TestCaseSource(nameof(Acceptances))]
    public void Good_runtime_option_is_accepted(RegisterTaskDefinitionRequest request) =>
        Assert.That(() => TaskDefinitionValidator.Validate(request), Throws.Nothing);
}
