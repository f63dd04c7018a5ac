using Orchestrator.Agent.Hosting;
using Orchestrator.Agent.Tasks;

namespace Orchestrator.Agent.Tests;

internal sealed class WorkloadSettingsTests
{
    [Test]
    public void The_defaults_allow_only_the_agents_own_directory_and_cap_logs_with_the_local_driver()
    {
        var settings = WorkloadSettings.From(new AgentOptions { StateDirectory = "/var/lib/orchestrator-agent" });
        Assert.That(
            (settings.AllowPrivileged, string.Join(",", settings.AllowedHostPaths), settings.LogDriver, settings.LogMaxSize, settings.LogMaxFiles, settings.SecretsDirectory),
            Is.EqualTo((false, "/var/lib/orchestrator-agent/volumes", "local", "10m", 3, "/run/orchestrator-agent/secrets")));
    }

    [Test]
    public void Allowed_host_paths_are_normalised()
    {
        var settings = WorkloadSettings.From(new AgentOptions { AllowedHostPaths = " /srv/data/ , /mnt//disk,/srv/data" });
        Assert.That(settings.AllowedHostPaths, Is.EqualTo(new[] { "/srv/data", "/mnt/disk" }));
    }

    [TestCase("AllowedHostPaths", "data", "Agent:AllowedHostPaths must be absolute paths separated by commas, not \"data\"")]
    [TestCase("LogDriver", "fluentd", "Agent:LogDriver must be one of local, json-file, journald, syslog, none, not \"fluentd\"")]
    [TestCase("LogMaxSize", "10 MB", "Agent:LogMaxSize must be a size as Docker writes it (10m, 512k, 1g), not \"10 MB\"")]
    [TestCase("LogMaxFiles", "0", "Agent:LogMaxFiles must be 1 or more, not 0")]
    [TestCase("SecretsDirectory", " ", "Agent:SecretsDirectory must not be empty")]
    public void A_malformed_setting_is_refused_with_its_name(string setting, string value, string message)
    {
        var options = new AgentOptions();
        var property = typeof(AgentOptions).GetProperty(setting)!;
        property.SetValue(options, property.PropertyType == typeof(int) ? int.Parse(value, System.Globalization.CultureInfo.InvariantCulture) : value);
        Assert.That(() => WorkloadSettings.From(options), Throws.TypeOf<FormatException>().With.Message.EqualTo(message));
    }

    private static readonly string[] Mounts =
    [
        "/dev/vda / ext4 rw,relatime 0 0",
        "tmpfs /run tmpfs rw,nosuid,nodev,mode=755 0 0",
        "/dev/vdb /run/disk ext4 rw 0 0",
        "tmpfs /run/with\\040space tmpfs rw 0 0",
    ];

    [TestCase("/run/orchestrator-agent/secrets", "tmpfs")]
    [TestCase("/run/disk/secrets", "ext4")]
    [TestCase("/run2/secrets", "ext4")]
    [TestCase("/run/with space/s", "tmpfs")]
    public void The_file_system_of_a_path_is_that_of_the_deepest_mount_above_it(string path, string type) =>
        Assert.That(WorkloadDirectories.FileSystemOf(path, Mounts), Is.EqualTo(type));
}
