using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Validation;

namespace Orchestrator.Scheduler.Tests.Validation;

/// <summary>Task volumes, containers' mountPoints and linuxParameters.tmpfs.</summary>
internal sealed class VolumeValidatorTests
{
    private static IEnumerable<TestCaseData> Refusals()
    {
        var c = FullDefinition.Refused;
        yield return c("volume without a name", r => r.Volumes[1].Name = "", "volumes[1].name: volume name is required");
        yield return c("volume name with a space", r => r.Volumes[1].Name = "my cache", "volumes[1].name: \"my cache\" is not a valid volume name: use 1 to 255 letters, digits, hyphens and underscores");
        yield return c("volume name too long", r => r.Volumes[1].Name = new string('v', 256), $"volumes[1].name: \"{new string('v', 61)}...\" is not a valid volume name: use 1 to 255 letters, digits, hyphens and underscores");
        yield return c("volume name twice", r => r.Volumes[1].Name = "data", "volumes[1].name: \"data\" is used by another volume of this task definition");
        yield return c("host and docker volume at once", r => r.Volumes[0].DockerVolumeConfiguration = new DockerVolumeConfiguration(), "volumes[0]: give host or dockerVolumeConfiguration, not both");
        yield return c("host without a path", r => r.Volumes[0].Host.SourcePath = "", "volumes[0].host.sourcePath: is required: an absolute path of the node (leave host out for an empty volume of the task)");
        yield return c("relative host path", r => r.Volumes[0].Host.SourcePath = "srv/data", "volumes[0].host.sourcePath: \"srv/data\" is not an absolute, normalized path: it starts with '/' and has no empty, \".\" or \"..\" segment and no trailing '/'");
        yield return c("host path climbing out", r => r.Volumes[0].Host.SourcePath = "/srv/shop/../../etc", "volumes[0].host.sourcePath: \"/srv/shop/../../etc\" is not an absolute, normalized path: it starts with '/' and has no empty, \".\" or \"..\" segment and no trailing '/'");
        yield return c("host path with a double slash", r => r.Volumes[0].Host.SourcePath = "/srv//data", "volumes[0].host.sourcePath: \"/srv//data\" is not an absolute, normalized path: it starts with '/' and has no empty, \".\" or \"..\" segment and no trailing '/'");
        yield return c("host path with a trailing slash", r => r.Volumes[0].Host.SourcePath = "/srv/data/", "volumes[0].host.sourcePath: \"/srv/data/\" is not an absolute, normalized path: it starts with '/' and has no empty, \".\" or \"..\" segment and no trailing '/'");
        yield return c("host path with a dot segment", r => r.Volumes[0].Host.SourcePath = "/srv/./data", "volumes[0].host.sourcePath: \"/srv/./data\" is not an absolute, normalized path: it starts with '/' and has no empty, \".\" or \"..\" segment and no trailing '/'");
        yield return c("host path too long", r => r.Volumes[0].Host.SourcePath = "/" + new string('p', 4096), "volumes[0].host.sourcePath: must be at most 4096 characters, not 4097");
        yield return c("host path with a newline", r => r.Volumes[0].Host.SourcePath = "/srv/a\nb", "volumes[0].host.sourcePath: \"/srv/a\\nb\" has a control character");
        yield return c("host path with a colon", r => r.Volumes[0].Host.SourcePath = "/srv/a:/etc", "volumes[0].host.sourcePath: \"/srv/a:/etc\" has a ':', which Docker's volume syntax reads as a separator");
        yield return c("unknown scope", r => r.Volumes[2].DockerVolumeConfiguration.Scope = "global", "volumes[2].dockerVolumeConfiguration.scope: must be \"task\" or \"shared\", not \"global\"");
        yield return c("scope in capitals", r => r.Volumes[2].DockerVolumeConfiguration.Scope = "Shared", "volumes[2].dockerVolumeConfiguration.scope: must be \"task\" or \"shared\", not \"Shared\"");
        yield return c("autoprovision of a task volume", r => r.Volumes[3].DockerVolumeConfiguration.Autoprovision = true, "volumes[3].dockerVolumeConfiguration.autoprovision: applies to \"shared\" volumes only: a \"task\" volume is always created with its task");
        yield return c("autoprovision with the default scope", r => r.Volumes[2].DockerVolumeConfiguration.Scope = "", "volumes[2].dockerVolumeConfiguration.autoprovision: applies to \"shared\" volumes only: a \"task\" volume is always created with its task");
        yield return c("shared volume Docker cannot name", r => { r.Volumes[2].Name = "_pg"; r.ContainerDefinitions[1].MountPoints[0].SourceVolume = "_pg"; }, "volumes[2].name: \"_pg\" cannot name a shared volume: it is the Docker volume's name, and Docker's start with a letter or digit and have at least 2 characters");
        yield return c("shared volume of one character", r => { r.Volumes[2].Name = "p"; r.ContainerDefinitions[1].MountPoints[0].SourceVolume = "p"; }, "volumes[2].name: \"p\" cannot name a shared volume: it is the Docker volume's name, and Docker's start with a letter or digit and have at least 2 characters");
        yield return c("driver with a space", r => r.Volumes[2].DockerVolumeConfiguration.Driver = "my driver", "volumes[2].dockerVolumeConfiguration.driver: \"my driver\" is not a volume driver name: letters, digits, '.', '_', '-' and '/', then an optional \":tag\", at most 255 characters");
        yield return c("driver with two tags", r => r.Volumes[3].DockerVolumeConfiguration.Driver = "a:b:c", "volumes[3].dockerVolumeConfiguration.driver: \"a:b:c\" is not a volume driver name: letters, digits, '.', '_', '-' and '/', then an optional \":tag\", at most 255 characters");
        yield return c("driver option with a bad key", r => r.Volumes[2].DockerVolumeConfiguration.DriverOpts["-o"] = "x", "volumes[2].dockerVolumeConfiguration.driverOpts: \"-o\" is not an option name: 1 to 255 letters, digits, '.', '_' and '-', starting with a letter or digit");
        yield return c("driver option value with a newline", r => r.Volumes[2].DockerVolumeConfiguration.DriverOpts["o"] = "size=1m\nuid=0", "volumes[2].dockerVolumeConfiguration.driverOpts[o]: \"size=1m\\nuid=0\" has a control character");
        yield return c("driver option value too long", r => r.Volumes[2].DockerVolumeConfiguration.DriverOpts["o"] = new string('o', 4097), "volumes[2].dockerVolumeConfiguration.driverOpts[o]: must be at most 4096 characters, not 4097");
        yield return c("too many driver options", r => { for (var i = 0; i < 98; i++) r.Volumes[2].DockerVolumeConfiguration.DriverOpts[$"k{i}"] = "v"; }, "volumes[2].dockerVolumeConfiguration.driverOpts: at most 100 allowed, got 101");
        yield return c("local driver bind of the node", r => r.Volumes[2].DockerVolumeConfiguration.DriverOpts["o"] = "rw, bind", "volumes[2].dockerVolumeConfiguration.driverOpts: the mount option \"bind\" names a path of the node or binds one");
        yield return c("local driver rbind of the node", r => Local(r, ("type", "tmpfs"), ("o", "rbind")), "volumes[3].dockerVolumeConfiguration.driverOpts: the mount option \"rbind\" names a path of the node or binds one");
        yield return c("default driver mounting a disk without a type", r => Local(r, ("device", "/dev/sda1")), "volumes[3].dockerVolumeConfiguration.driverOpts: device and o need a type: tmpfs, nfs, nfs4 or cifs");
        yield return c("bind without a type", r => Local(r, ("o", "bind"), ("device", "/etc")), "volumes[3].dockerVolumeConfiguration.driverOpts: device and o need a type: tmpfs, nfs, nfs4 or cifs");
        yield return c("bind with type none", r => Local(r, ("type", "none"), ("o", "bind"), ("device", "/etc")), "volumes[3].dockerVolumeConfiguration.driverOpts: type \"none\" could mount the node's own files; the local driver takes tmpfs, nfs, nfs4 or cifs (host paths go through host.sourcePath)");
        yield return c("an overlay of the node's /etc", r => Local(r, ("type", "overlay"), ("device", "overlay"), ("o", "lowerdir=/etc,upperdir=/tmp/u,workdir=/tmp/w")), "volumes[3].dockerVolumeConfiguration.driverOpts: type \"overlay\" could mount the node's own files; the local driver takes tmpfs, nfs, nfs4 or cifs (host paths go through host.sourcePath)");
        yield return c("an ext4 disk by a relative device", r => Local(r, ("type", "ext4"), ("device", "dev/sda1")), "volumes[3].dockerVolumeConfiguration.driverOpts: type \"ext4\" could mount the node's own files; the local driver takes tmpfs, nfs, nfs4 or cifs (host paths go through host.sourcePath)");
        yield return c("a type in capitals", r => Local(r, ("type", "TMPFS")), "volumes[3].dockerVolumeConfiguration.driverOpts: type \"TMPFS\" could mount the node's own files; the local driver takes tmpfs, nfs, nfs4 or cifs (host paths go through host.sourcePath)");
        yield return c("an option naming a node path", r => Local(r, ("type", "tmpfs"), ("o", "size=1m,context=/etc")), "volumes[3].dockerVolumeConfiguration.driverOpts: the mount option \"context=/etc\" names a path of the node or binds one");
        yield return c("tmpfs from a node device", r => Local(r, ("type", "tmpfs"), ("device", "/dev/shm")), "volumes[3].dockerVolumeConfiguration.driverOpts: device \"/dev/shm\" is not a tmpfs source (tmpfs)");
        yield return c("nfs from a node path", r => Local(r, ("type", "nfs"), ("device", "/srv/export")), "volumes[3].dockerVolumeConfiguration.driverOpts: device \"/srv/export\" is not a nfs source (server:/export)");
        yield return c("nfs without a device", r => Local(r, ("type", "nfs4"), ("o", "addr=10.0.0.1")), "volumes[3].dockerVolumeConfiguration.driverOpts: device \"\" is not a nfs4 source (server:/export)");
        yield return c("cifs from a node path", r => Local(r, ("type", "cifs"), ("device", "/mnt/share")), "volumes[3].dockerVolumeConfiguration.driverOpts: device \"/mnt/share\" is not a cifs source (//server/share)");
        yield return c("an option the local driver does not have", r => Local(r, ("type", "tmpfs"), ("mountpoint", "/etc")), "volumes[3].dockerVolumeConfiguration.driverOpts: \"mountpoint\" is not an option of the local driver (type, device, o)");
        yield return c("the local driver named", r => { Local(r, ("type", "ext4"), ("device", "/dev/sda1")); r.Volumes[3].DockerVolumeConfiguration.Driver = "local"; }, "volumes[3].dockerVolumeConfiguration.driverOpts: type \"ext4\" could mount the node's own files; the local driver takes tmpfs, nfs, nfs4 or cifs (host paths go through host.sourcePath)");
        yield return c("a shared volume under the agent's names", r => { r.Volumes[2].Name = "orch-0123456789ab-data"; r.ContainerDefinitions[1].MountPoints[0].SourceVolume = "orch-0123456789ab-data"; }, "volumes[2].name: \"orch-0123456789ab-data\" starts with \"orch-\", the agent's names for volumes of single tasks");
        yield return c("reserved volume label", r => r.Volumes[2].DockerVolumeConfiguration.Labels["orchestrator.task"] = "x", "volumes[2].dockerVolumeConfiguration.labels[orchestrator.task]: keys starting with \"orchestrator.\" are reserved for the agent's own labels");
        yield return c("too many volumes", r => { for (var i = 0; i < 96; i++) r.Volumes.Add(new Volume { Name = $"v{i}" }); }, "volumes: at most 100 allowed, got 101");

        yield return c("mount of an unknown volume", r => r.ContainerDefinitions[1].MountPoints[0].SourceVolume = "pg", "containerDefinitions[1].mountPoints[0].sourceVolume: no volume named \"pg\" in volumes");
        yield return c("mount without a volume", r => r.ContainerDefinitions[0].MountPoints[1].SourceVolume = "", "containerDefinitions[0].mountPoints[1].sourceVolume: is required: the name of one of the task definition's volumes");
        yield return c("mount at a relative path", r => r.ContainerDefinitions[0].MountPoints[0].ContainerPath = "data", "containerDefinitions[0].mountPoints[0].containerPath: \"data\" is not an absolute, normalized path: it starts with '/' and has no empty, \".\" or \"..\" segment and no trailing '/'");
        yield return c("mount without a path", r => r.ContainerDefinitions[0].MountPoints[0].ContainerPath = "", "containerDefinitions[0].mountPoints[0].containerPath: is required: an absolute path");
        yield return c("mount over the root", r => r.ContainerDefinitions[0].MountPoints[0].ContainerPath = "/", "containerDefinitions[0].mountPoints[0].containerPath: cannot be \"/\": Docker mounts nothing over a container's root");
        yield return c("two mounts at one path", r => r.ContainerDefinitions[0].MountPoints[1].ContainerPath = "/var/lib/shop", "containerDefinitions[0].mountPoints[1].containerPath: \"/var/lib/shop\" is already mounted by containerDefinitions[0].mountPoints[0].containerPath");
        yield return c("tmpfs where a volume is mounted", r => r.ContainerDefinitions[0].LinuxParameters.Tmpfs[0].ContainerPath = "/cache", "containerDefinitions[0].linuxParameters.tmpfs[0].containerPath: \"/cache\" is already mounted by containerDefinitions[0].mountPoints[1].containerPath");
        yield return c("mount over the secret files", r => r.ContainerDefinitions[0].MountPoints[1].ContainerPath = "/run/secrets", "containerDefinitions[0].mountPoints[1].containerPath: \"/run/secrets\" is where this container's secrets with asFile are (/run/secrets); mount it elsewhere");
        yield return c("mount inside the secret files", r => r.ContainerDefinitions[0].MountPoints[1].ContainerPath = "/run/secrets/api-key", "containerDefinitions[0].mountPoints[1].containerPath: \"/run/secrets/api-key\" is where this container's secrets with asFile are (/run/secrets); mount it elsewhere");
        yield return c("too many mount points", r => { for (var i = 0; i < 100; i++) r.ContainerDefinitions[1].MountPoints.Add(new MountPoint { SourceVolume = "cache", ContainerPath = $"/m{i}" }); }, "containerDefinitions[1].mountPoints: at most 100 allowed, got 101");

        yield return c("tmpfs at a relative path", r => r.ContainerDefinitions[0].LinuxParameters.Tmpfs[0].ContainerPath = "tmp", "containerDefinitions[0].linuxParameters.tmpfs[0].containerPath: \"tmp\" is not an absolute, normalized path: it starts with '/' and has no empty, \".\" or \"..\" segment and no trailing '/'");
        yield return c("tmpfs without a size", r => r.ContainerDefinitions[0].LinuxParameters.Tmpfs[0].Size = 0, "containerDefinitions[0].linuxParameters.tmpfs[0].size: must be at least 1 MiB, not 0");
        yield return c("tmpfs larger than memory can be", r => r.ContainerDefinitions[0].LinuxParameters.Tmpfs[0].Size = int.MaxValue, "containerDefinitions[0].linuxParameters.tmpfs[0].size: must be at most 16777216 MiB, not 2147483647");
        yield return c("tmpfs option unknown", r => r.ContainerDefinitions[0].LinuxParameters.Tmpfs[0].MountOptions.Add("size=1g"), "containerDefinitions[0].linuxParameters.tmpfs[0].mountOptions[5]: \"size=1g\" is not a tmpfs mount option: use one of ro, rw, nosuid, suid, nodev, dev, noexec, exec, sync, async, dirsync, remount, mand, nomand, atime, noatime, diratime, nodiratime, relatime, norelatime, strictatime, nostrictatime, or mode=OCTAL, uid=N, gid=N, nr_inodes=N, nr_blocks=N");
        yield return c("tmpfs mode not octal", r => r.ContainerDefinitions[0].LinuxParameters.Tmpfs[0].MountOptions[2] = "mode=1797", "containerDefinitions[0].linuxParameters.tmpfs[0].mountOptions[2]: \"mode=1797\" is not a tmpfs mount option: use one of ro, rw, nosuid, suid, nodev, dev, noexec, exec, sync, async, dirsync, remount, mand, nomand, atime, noatime, diratime, nodiratime, relatime, norelatime, strictatime, nostrictatime, or mode=OCTAL, uid=N, gid=N, nr_inodes=N, nr_blocks=N");
        yield return c("tmpfs uid past 32 bits", r => r.ContainerDefinitions[0].LinuxParameters.Tmpfs[0].MountOptions[3] = "uid=4294967295", "containerDefinitions[0].linuxParameters.tmpfs[0].mountOptions[3]: \"uid=4294967295\" is not a tmpfs mount option: use one of ro, rw, nosuid, suid, nodev, dev, noexec, exec, sync, async, dirsync, remount, mand, nomand, atime, noatime, diratime, nodiratime, relatime, norelatime, strictatime, nostrictatime, or mode=OCTAL, uid=N, gid=N, nr_inodes=N, nr_blocks=N");
        yield return c("tmpfs option in capitals", r => r.ContainerDefinitions[0].LinuxParameters.Tmpfs[0].MountOptions[0] = "NOEXEC", "containerDefinitions[0].linuxParameters.tmpfs[0].mountOptions[0]: \"NOEXEC\" is not a tmpfs mount option: use one of ro, rw, nosuid, suid, nodev, dev, noexec, exec, sync, async, dirsync, remount, mand, nomand, atime, noatime, diratime, nodiratime, relatime, norelatime, strictatime, nostrictatime, or mode=OCTAL, uid=N, gid=N, nr_inodes=N, nr_blocks=N");
        yield return c("two tmpfs at one path", r => r.ContainerDefinitions[0].LinuxParameters.Tmpfs.Add(new Tmpfs { ContainerPath = "/tmp", Size = 1 }), "containerDefinitions[0].linuxParameters.tmpfs[1].containerPath: \"/tmp\" is already mounted by containerDefinitions[0].linuxParameters.tmpfs[0].containerPath");
        yield return c("too many tmpfs options", r => r.ContainerDefinitions[0].LinuxParameters.Tmpfs[0].MountOptions.AddRange(Enumerable.Repeat("ro", 28)), "containerDefinitions[0].linuxParameters.tmpfs[0].mountOptions: at most 32 allowed, got 33");
    }

    private static IEnumerable<TestCaseData> Acceptances()
    {
        var a = FullDefinition.Accepted;
        yield return a("a volume nobody mounts", r => r.Volumes.Add(new Volume { Name = "spare", Host = new HostVolumeProperties { SourcePath = "/srv/spare" } }));
        yield return a("the node's root as a host path (the agent's policy decides)", r => r.Volumes[0].Host.SourcePath = "/");
        yield return a("a host path of the longest length", r => r.Volumes[0].Host.SourcePath = "/" + new string('p', 4095));
        yield return a("NFS through the local driver", r => r.Volumes[3].DockerVolumeConfiguration = new DockerVolumeConfiguration { DriverOpts = { ["type"] = "nfs", ["o"] = "addr=10.0.0.9,rw", ["device"] = ":/exports/shop" } });
        yield return a("CIFS through the local driver", r => r.Volumes[3].DockerVolumeConfiguration = new DockerVolumeConfiguration { DriverOpts = { ["type"] = "cifs", ["device"] = "//fileserver/share" } });
        yield return a("a bind option of another driver (its own business)", r => r.Volumes[3].DockerVolumeConfiguration.DriverOpts["o"] = "bind");
        yield return a("tmpfs through the local driver", r => Local(r, ("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=100m")));
        yield return a("tmpfs without a device", r => Local(r, ("type", "tmpfs"), ("o", "size=100m,uid=1000,mode=0700")));
        yield return a("nfs by the brief's example", r => Local(r, ("type", "nfs"), ("device", ":/export"), ("o", "addr=10.0.0.1,rw")));
        yield return a("nfs4 with a server in the device", r => Local(r, ("type", "nfs4"), ("device", "files.internal:/exports/shop"), ("o", "addr=10.0.0.1,nfsvers=4.1")));
        yield return a("cifs by the brief's example", r => Local(r, ("type", "cifs"), ("device", "//server/share"), ("o", "username=shop,vers=3.0")));
        yield return a("the local driver without options", r => Local(r));
        yield return a("a task volume may have any valid name", r => r.Volumes[3].Name = "orch-mine");
        yield return a("the same volume at two paths", r => r.ContainerDefinitions[0].MountPoints.Add(new MountPoint { SourceVolume = "data", ContainerPath = "/backup" }));
        yield return a("the same path in two containers", r => r.ContainerDefinitions[1].MountPoints.Add(new MountPoint { SourceVolume = "cache", ContainerPath = "/cache" }));
        yield return a("/run/secrets for a container without secret files", r => r.ContainerDefinitions[1].MountPoints.Add(new MountPoint { SourceVolume = "cache", ContainerPath = "/run/secrets" }));
        yield return a("a mount under another", r => r.ContainerDefinitions[0].MountPoints.Add(new MountPoint { SourceVolume = "cache", ContainerPath = "/var/lib/shop/cache" }));
        yield return a("a tmpfs of 1 MiB with every kind of option", r => r.ContainerDefinitions[1].LinuxParameters = new LinuxParameters { Tmpfs = { new Tmpfs { ContainerPath = "/run", Size = 1, MountOptions = { "ro", "nodev", "mode=700", "gid=0", "nr_blocks=100", "nr_inodes=2m", "strictatime" } } } });
    }

    /// <summary>Makes volumes[3] a volume of the default (local) driver with exactly these options.</summary>
    private static void Local(RegisterTaskDefinitionRequest request, params (string Key, string Value)[] options)
    {
        var docker = request.Volumes[3].DockerVolumeConfiguration;
        docker.Driver = "";
        docker.DriverOpts.Clear();
        foreach (var (key, value) in options)
        {
            docker.DriverOpts[key] = value;
        }
    }

    [TestCaseSource(nameof(Refusals))]
    public string Bad_storage_is_refused_naming_the_field(RegisterTaskDefinitionRequest request) => FullDefinition.RefusalOf(request);

    [TestCaseSource(nameof(Acceptances))]
    public void Good_storage_is_accepted(RegisterTaskDefinitionRequest request) =>
        Assert.That(() => TaskDefinitionValidator.Validate(request), Throws.Nothing);
}
