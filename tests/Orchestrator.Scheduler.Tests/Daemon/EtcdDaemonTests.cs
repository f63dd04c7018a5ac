using dotnet_etcd;
using Orchestrator.Scheduler.Storage.Etcd;
using Orchestrator.Tests.Shared;

namespace Orchestrator.Scheduler.Tests.Daemon;

/// <summary>
/// The scheduler on etcd as users start it, on what can go wrong before it serves: a store kind it does
/// not know, an etcd that does not answer, a key prefix that holds something else. Each stops it with
/// one line and an exit code that says which, and touches nothing.
/// </summary>
internal sealed class EtcdDaemonTests
{
    private string _directory = "";

    private string DbPath => Path.Combine(_directory, "scheduler.db");

    [SetUp]
    public void MakeDirectory() => _directory = Directory.CreateTempSubdirectory("orchestrator-etcd-daemon-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void A_store_it_does_not_know_is_a_bad_setting()
    {
        using var daemon = DaemonProcess.StartScheduler(DbPath, DaemonProcess.FreePort(), "--Scheduler:Store=postgres");

        Assert.Multiple(() =>
        {
            Assert.That(daemon.WaitForExit(), Is.EqualTo(1));
            Assert.That(daemon.StandardError, Is.EqualTo(new[] { "orchestrator-scheduler: bad setting: Scheduler:Store must be \"litedb\" or \"etcd\", not \"postgres\"" }));
        });
    }

    [Test]
    public void An_etcd_that_does_not_answer_stops_it_after_the_start_timeout_with_exit_code_2()
    {
        // Nothing listens there: etcd is down.
        var endpoint = $"http://127.0.0.1:{DaemonProcess.FreePort()}";
        using var daemon = DaemonProcess.StartScheduler(DbPath, DaemonProcess.FreePort(),
            "--Scheduler:Store=etcd", $"--Scheduler:Etcd:Endpoints={endpoint}", "--Scheduler:Etcd:StartTimeout=00:00:02");

        Assert.Multiple(() =>
        {
            Assert.That(daemon.WaitForExit(), Is.EqualTo(2));
            Assert.That(daemon.StandardError.Single(), Does.StartWith($"orchestrator-scheduler: etcd at {endpoint} did not answer within 00:00:02 (Scheduler:Etcd:StartTimeout): "));
        });
    }

    [Test]
    public async Task A_prefix_that_holds_something_else_is_refused_at_start_and_left_as_it_was()
    {
        using var etcd = await EtcdCluster.StartAsync(1);
        using var connection = EtcdClientFactory.Create(new EtcdOptions { Endpoints = etcd.Endpoints });
        await connection.Client.PutAsync("/payroll/config", "do not touch");

        using var daemon = DaemonProcess.StartScheduler(DbPath, DaemonProcess.FreePort(),
            "--Scheduler:Store=etcd", $"--Scheduler:Etcd:Endpoints={etcd.Endpoints}", "--Scheduler:Etcd:Prefix=/payroll", "--Scheduler:Etcd:StartTimeout=00:00:10");

        Assert.Multiple(async () =>
        {
            Assert.That(daemon.WaitForExit(), Is.EqualTo(2));
            Assert.That(daemon.StandardError.Single(), Does.StartWith("orchestrator-scheduler: the etcd prefix /payroll (Scheduler:Etcd:Prefix) is not a scheduler state of this version: "));
            var left = await connection.Client.GetRangeAsync("/payroll");
            Assert.That(left.Kvs.Select(kv => (kv.Key.ToStringUtf8(), kv.Value.ToStringUtf8())), Is.EqualTo(new[] { ("/payroll/config", "do not touch") }));
        });
    }
}
