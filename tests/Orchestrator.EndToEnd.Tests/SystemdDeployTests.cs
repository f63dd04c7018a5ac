using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Grpc.Net.Client;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>
/// deploy/systemd as far as this machine can check it without a running systemd: the install script
/// lays out self-contained builds, units and settings; systemd-analyze accepts the units; and the
/// installed daemons, started as systemd would start them, report READY=1 on NOTIFY_SOCKET.
/// </summary>
internal sealed class SystemdDeployTests
{
    private string _stage = "";
    private string _installOutput = "";

    private string Units => Path.Combine(_stage, "etc", "systemd", "system");

    [OneTimeSetUp]
    public void Install()
    {
        _stage = Directory.CreateTempSubdirectory("orchestrator-stage-").FullName;
        var (code, output) = Repository.Run("bash", [Path.Combine(Repository.Root, "deploy", "systemd", "install.sh"), "--root", _stage]);
        Assert.That(code, Is.EqualTo(0), output);
        _installOutput = output;
    }

    [OneTimeTearDown]
    public void Remove() => Directory.Delete(_stage, recursive: true);

    [Test]
    public void Installing_without_a_terminal_leaves_live_restore_alone_and_says_how_to_turn_it_on()
    {
        Assert.Multiple(() =>
        {
            Assert.That(File.Exists(Path.Combine(_stage, "etc", "docker", "daemon.json")), Is.False, "Docker's settings untouched");
            Assert.That(_installOutput, Does.Contain("live-restore is off").And.Contain("install.sh --live-restore"));
        });
    }

    [Test]
    public void Enabling_live_restore_writes_daemon_json_or_merges_it_keeping_every_other_setting()
    {
        var fresh = Directory.CreateTempSubdirectory("orchestrator-docker-").FullName;
        var edited = Directory.CreateTempSubdirectory("orchestrator-docker-").FullName;
        try
        {
            var script = Path.Combine(Repository.Root, "deploy", "systemd", "enable-live-restore.sh");
            Directory.CreateDirectory(Path.Combine(edited, "etc", "docker"));
            File.WriteAllText(Path.Combine(edited, "etc", "docker", "daemon.json"), """{ "log-driver": "local", "live-restore": false, "dns": ["10.0.0.2"] }""");
            var first = Repository.Run("bash", [script, "--root", fresh]);
            var merged = Repository.Run("bash", [script, "--root", edited]);
            var again = Repository.Run("bash", [script, "--root", edited]);
            using var created = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(fresh, "etc", "docker", "daemon.json")));
            using var kept = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(edited, "etc", "docker", "daemon.json")));
            Assert.Multiple(() =>
            {
                Assert.That((first.ExitCode, merged.ExitCode, again.ExitCode), Is.EqualTo((0, 0, 0)), first.Output + merged.Output + again.Output);
                Assert.That(created.RootElement.GetProperty("live-restore").GetBoolean(), Is.True);
                Assert.That(kept.RootElement.GetProperty("live-restore").GetBoolean(), Is.True);
                Assert.That(kept.RootElement.GetProperty("log-driver").GetString(), Is.EqualTo("local"));
                Assert.That(kept.RootElement.GetProperty("dns")[0].GetString(), Is.EqualTo("10.0.0.2"));
            });
        }
        finally
        {
            Directory.Delete(fresh, recursive: true);
            Directory.Delete(edited, recursive: true);
        }
    }

    [TestCase("--etcd http://10.0.0.5:2379", "--etcd needs --advertise HOST:PORT")]
    [TestCase("--advertise 10.0.0.5:7400", "--advertise is for a scheduler on etcd; give --etcd ENDPOINTS too")]
    [TestCase("--etcd 10.0.0.5:2379 --advertise 10.0.0.5:7400", "\"10.0.0.5:2379\" is not one")]
    [TestCase("--etcd http://10.0.0.5:2379,,http://10.0.0.6:2379 --advertise 10.0.0.5:7400", "\"\" is not one")]
    [TestCase("--etcd http://10.0.0.5:2379 --advertise 10.0.0.5", "--etcd needs --advertise HOST:PORT")]
    [TestCase("--etcd http://10.0.0.5:2379 --advertise 127.0.0.1:7400", "--advertise 127.0.0.1:7400 is not reachable from other VMs")]
    [TestCase("--etcd http://10.0.0.5:2379 --advertise 0.0.0.0:7400", "--advertise 0.0.0.0:7400 is not reachable from other VMs")]
    [TestCase("--only agent --etcd http://10.0.0.5:2379 --advertise 10.0.0.5:7400", "they need it installed (--only scheduler)")]
    public void Etcd_settings_that_cannot_work_are_refused_before_anything_is_installed(string arguments, string message)
    {
        var stage = Directory.CreateTempSubdirectory("orchestrator-stage-").FullName;
        try
        {
            var (code, output) = Repository.Run("bash", [Path.Combine(Repository.Root, "deploy", "systemd", "install.sh"), "--root", stage, .. arguments.Split(' ')]);
            Assert.Multiple(() =>
            {
                Assert.That(code, Is.EqualTo(2), output);
                Assert.That(output.Trim(), Does.StartWith("install.sh: ").And.Contain(message));
                Assert.That(Directory.EnumerateFileSystemEntries(stage), Is.Empty, "nothing published or written");
            });
        }
        finally
        {
            Directory.Delete(stage, recursive: true);
        }
    }

    [Test]
    public void A_scheduler_installed_for_etcd_gets_the_store_settings_once_and_the_unit_follows_etcd()
    {
        var stage = Directory.CreateTempSubdirectory("orchestrator-stage-").FullName;
        try
        {
            var endpoints = "https://10.0.0.5:2379,https://10.0.0.6:2379,https://10.0.0.7:2379";
            var (code, output) = Repository.Run("bash", [Path.Combine(Repository.Root, "deploy", "systemd", "install.sh"), "--root", stage,
                "--only", "scheduler", "--no-cli", "--etcd", endpoints, "--advertise", "10.0.0.5:7400"]);
            Assert.That(code, Is.EqualTo(0), output);
            var settings = File.ReadAllLines(Path.Combine(stage, "etc", "orchestrator", "scheduler.env")).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
            var unit = File.ReadAllText(Path.Combine(stage, "etc", "systemd", "system", "orchestrator-scheduler.service"));
            Assert.Multiple(() =>
            {
                Assert.That(settings, Is.EqualTo(new[]
                {
                    "Scheduler__Listen=0.0.0.0:7400", "Scheduler__TlsHostNames=10.0.0.5", "Scheduler__AdvertiseAddress=10.0.0.5:7400",
                    "Scheduler__Store=etcd", $"Scheduler__Etcd__Endpoints={endpoints}",
                }));
                Assert.That(unit, Does.Contain("After=network-online.target etcd.service\n").And.Contain("Restart=on-failure\n"));
                Assert.That(output, Does.Contain("Agent__SchedulerAddress=https://10.0.0.5:7400,"));
            });
        }
        finally
        {
            Directory.Delete(stage, recursive: true);
        }
    }

    [Test]
    public void The_example_settings_for_etcd_name_only_settings_the_scheduler_has()
    {
        // Every Scheduler__Etcd__X in the example is a property of EtcdOptions, and every other Scheduler__X
        // one of SchedulerOptions, so that a renamed setting cannot leave the example behind.
        var example = File.ReadAllLines(Path.Combine(Repository.Root, "deploy", "systemd", "scheduler-etcd.env.example"))
            .Select(l => l.TrimStart('#')).Where(l => l.StartsWith("Scheduler__", StringComparison.Ordinal)).Select(l => l.Split('=', 2)[0]).ToArray();
        var scheduler = File.ReadAllText(Path.Combine(Repository.Root, "scheduler", "State", "SchedulerOptions.cs"));
        var etcd = File.ReadAllText(Path.Combine(Repository.Root, "scheduler", "Storage", "Etcd", "EtcdOptions.cs"));
        Assert.That(example, Has.Length.GreaterThan(10));
        Assert.Multiple(() =>
        {
            foreach (var name in example)
            {
                var parts = name.Split("__");
                var (source, property) = parts is [_, "Etcd", var p] ? (etcd, p) : (scheduler, parts[1]);
                Assert.That(source, Does.Contain($" {property} {{ get; set; }}"), name);
            }
        });
    }

    [Test]
    public void The_cli_is_installed_on_the_path_as_one_file_that_runs()
    {
        var cli = Path.Combine(_stage, "usr", "local", "bin", "orchestrator");
        var help = Repository.Run(cli, ["task", "run", "--help"]);
        var unreachable = Repository.Run(cli, ["cluster", "ls", "--addr", "http://127.0.0.1:1"]);
        Assert.Multiple(() =>
        {
            Assert.That(help, Is.EqualTo((0, help.Output)));
            Assert.That(help.Output, Does.Contain("orchestrator task run web --count 3"));
            Assert.That(unreachable.ExitCode, Is.EqualTo(1));
            Assert.That(unreachable.Output.Trim(), Does.StartWith("orchestrator: Unavailable: "));
        });
    }

    [Test]
    public void Systemd_analyze_verify_accepts_both_units_without_a_warning()
    {
        var (code, output) = Repository.Run("systemd-analyze", ["verify", Path.Combine(Units, "orchestrator-scheduler.service"), Path.Combine(Units, "orchestrator-agent.service")]);
        Assert.That((code, output), Is.EqualTo((0, "")));
    }

    [Test]
    public void Systemd_analyze_verify_accepts_the_agent_unit_with_its_containerd_drop_in()
    {
        // systemd-analyze reads drop-ins from UNIT.d next to the unit it verifies: a copy of the installed
        // agent unit with the drop-in beside it, as /etc/systemd/system/orchestrator-agent.service.d/ holds it.
        var directory = Directory.CreateTempSubdirectory("orchestrator-dropin-").FullName;
        try
        {
            File.Copy(Path.Combine(Units, "orchestrator-agent.service"), Path.Combine(directory, "orchestrator-agent.service"));
            Directory.CreateDirectory(Path.Combine(directory, "orchestrator-agent.service.d"));
            File.Copy(Path.Combine(Repository.Root, "deploy", "systemd", "orchestrator-agent.containerd.conf"),
                Path.Combine(directory, "orchestrator-agent.service.d", "containerd.conf"));
            var (code, output) = Repository.Run("systemd-analyze", ["verify", Path.Combine(directory, "orchestrator-agent.service")]);
            Assert.That((code, output), Is.EqualTo((0, "")));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public void The_containerd_drop_in_turns_off_every_option_of_the_agent_unit_that_makes_a_mount_namespace()
    {
        // A private mount namespace keeps the /run/netns bind mounts of `ip netns add` from runc, which
        // containerd starts in the host's: every such option the base unit sets must be off in the drop-in.
        string[] mountNamespaceOptions =
        [
            "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "PrivateMounts", "ProtectKernelTunables", "ProtectKernelModules",
            "ProtectKernelLogs", "ProtectControlGroups", "ProtectProc", "ProcSubset", "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths",
            "ExecPaths", "NoExecPaths", "BindPaths", "BindReadOnlyPaths", "TemporaryFileSystem", "RootDirectory", "RootImage",
        ];
        var unit = File.ReadAllLines(Path.Combine(Repository.Root, "deploy", "systemd", "orchestrator-agent.service"));
        var dropIn = File.ReadAllLines(Path.Combine(Repository.Root, "deploy", "systemd", "orchestrator-agent.containerd.conf"));
        var set = unit.Select(l => l.Split('=', 2)[0]).Where(mountNamespaceOptions.Contains).ToArray();
        Assert.That(set, Does.Contain("ProtectSystem").And.Contain("PrivateTmp"), "the base unit is hardened");
        Assert.Multiple(() =>
        {
            foreach (var option in set)
            {
                Assert.That(dropIn.LastOrDefault(l => l.StartsWith(option + "=", StringComparison.Ordinal)), Is.EqualTo($"{option}=no").Or.EqualTo($"{option}="), option);
            }

            Assert.That(dropIn, Does.Contain("UMask=0022"), "the files the agent writes for containers are readable to their users");
        });
    }

    [Test]
    public void The_units_are_hardened_and_notify_systemd()
    {
        var scheduler = File.ReadAllText(Path.Combine(Units, "orchestrator-scheduler.service"));
        var agent = File.ReadAllText(Path.Combine(Units, "orchestrator-agent.service"));
        Assert.Multiple(() =>
        {
            foreach (var line in new[] { "Type=notify", "Restart=on-failure", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "EnvironmentFile=-" })
            {
                Assert.That(scheduler, Does.Contain(line));
                Assert.That(agent, Does.Contain(line));
            }

            Assert.That(scheduler, Does.Contain("User=orchestrator\n").And.Contain("StateDirectory=orchestrator"));
            Assert.That(agent, Does.Contain("SupplementaryGroups=docker"));
            Assert.That(agent, Does.Contain($"ExecStart={_stage}/opt/orchestrator/agent/orchestrator-agent"));
        });
    }

    [Test]
    public async Task The_installed_scheduler_starts_with_its_installed_settings_and_reports_ready()
    {
        var port = DaemonProcess.FreePort();
        var ready = await StartAsSystemdWouldAsync("scheduler", $"Scheduler__Listen=127.0.0.1:{port}", $"Scheduler__DataPath={_stage}/state/scheduler.db",
            $"Scheduler__MetricsListen=127.0.0.1:{DaemonProcess.FreePort()}");
        using var stop = ready.Process;
        using var channel = SchedulerChannel.ForDaemon(port, $"{_stage}/state");
        var serving = await new Grpc.Health.V1.Health.HealthClient(channel).CheckAsync(new Grpc.Health.V1.HealthCheckRequest());
        Assert.Multiple(() =>
        {
            Assert.That(ready.Message, Does.Contain("READY=1"));
            Assert.That(serving.Status, Is.EqualTo(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving));
        });
    }

    [Test]
    public async Task The_installed_agent_starts_with_its_installed_settings_and_reports_ready()
    {
        // Its directories in the stage, not the host's /var/lib and /run (the agent makes them at start).
        var ready = await StartAsSystemdWouldAsync("agent", $"Agent__SchedulerAddress=http://127.0.0.1:{DaemonProcess.FreePort()}", "Agent__NodeName=systemd-test",
            $"Agent__StateDirectory={_stage}/state/agent", $"Agent__SecretsDirectory={_stage}/run/secrets",
            $"Agent__MetricsListen=127.0.0.1:{DaemonProcess.FreePort()}");
        using var stop = ready.Process;
        Assert.That(ready.Message, Does.Contain("READY=1"));
    }

    /// <summary>
    /// Runs the installed binary with the unit's environment and settings file, under a parent process
    /// named "systemd" (that is how .NET's UseSystemd knows it runs under systemd) and with
    /// NOTIFY_SOCKET pointing at a socket this test listens on. Returns what the daemon sent there and a
    /// handle that ends the daemon when disposed.
    /// </summary>
    private async Task<(RunningDaemon Process, string Message)> StartAsSystemdWouldAsync(string daemon, params string[] overrides)
    {
        var unit = File.ReadAllLines(Path.Combine(Units, $"orchestrator-{daemon}.service"));
        var environment = unit.Where(l => l.StartsWith("Environment=", StringComparison.Ordinal)).Select(l => l["Environment=".Length..])
            .Concat(File.ReadAllLines(Path.Combine(_stage, "etc", "orchestrator", $"{daemon}.env")).Where(l => l.Length > 0 && !l.StartsWith('#')))
            .Concat(overrides)
            .Select(l => l.Split('=', 2))
            .ToList();
        var execStart = unit.Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal))["ExecStart=".Length..];

        var socketPath = Path.Combine(_stage, $"notify-{daemon}.sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        var fakeSystemd = Path.Combine(_stage, "systemd");
        if (!File.Exists(fakeSystemd))
        {
            File.CreateSymbolicLink(fakeSystemd, "/bin/bash");
        }

        var start = new ProcessStartInfo(fakeSystemd) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("\"$0\"; exit $?"); // keeps bash (named systemd) as the daemon's parent
        start.ArgumentList.Add(execStart);
        start.Environment["NOTIFY_SOCKET"] = socketPath;
        foreach (var pair in environment)
        {
            start.Environment[pair[0]] = pair[1];
        }

        var process = new RunningDaemon(Process.Start(start)!);
        try
        {
            var buffer = new byte[4096];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var received = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            return (process, Encoding.UTF8.GetString(buffer, 0, received));
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>Ends the daemon and its fake systemd parent when disposed.</summary>
    internal sealed class RunningDaemon : IDisposable
    {
        private readonly Process _process;

        public RunningDaemon(Process process)
        {
            _process = process;
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public void Dispose()
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
            _process.Dispose();
        }
    }
}
