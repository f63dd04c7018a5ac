using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage.Etcd;

namespace Orchestrator.Scheduler.Tests.HA;

/// <summary>Every setting of the etcd store that cannot work is refused at start with one line naming it.</summary>
internal sealed class EtcdSettingsTests
{
    private static SchedulerOptions Etcd(Action<SchedulerOptions> change)
    {
        var options = new SchedulerOptions { Store = "etcd", Listen = "10.0.0.1:7400" };
        change(options);
        return options;
    }

    private static readonly object[] Refused =
    [
        new object[] { Etcd(o => o.Store = "postgres"), "Scheduler:Store must be \"litedb\" or \"etcd\", not \"postgres\"" },
        new object[] { Etcd(o => o.Etcd.Endpoints = " , "), "Scheduler:Etcd:Endpoints must name at least one etcd member" },
        new object[] { Etcd(o => o.Etcd.Endpoints = "10.0.0.1:2379"), "Scheduler:Etcd:Endpoints: \"10.0.0.1:2379\" is not an etcd client URL" },
        new object[] { Etcd(o => o.Etcd.Endpoints = "http://10.0.0.1:2379,ftp://x:21"), "Scheduler:Etcd:Endpoints: \"ftp://x:21\" is not an etcd client URL" },
        new object[] { Etcd(o => o.Etcd.Endpoints = "http://10.0.0.1"), "Scheduler:Etcd:Endpoints: \"http://10.0.0.1\" is not an etcd client URL" },
        new object[] { Etcd(o => o.Etcd.Endpoints = "http://root:hunter2@10.0.0.1:2379"), "Scheduler:Etcd:Endpoints: a user and password do not go in the URL" },
        new object[] { Etcd(o => o.Etcd.Prefix = "orchestrator"), "Scheduler:Etcd:Prefix must start with \"/\"" },
        new object[] { Etcd(o => o.Etcd.Prefix = "/orchestrator/"), "Scheduler:Etcd:Prefix must start with \"/\", not end with one" },
        new object[] { Etcd(o => o.Etcd.Prefix = "/"), "Scheduler:Etcd:Prefix must start with \"/\"" },
        new object[] { Etcd(o => o.Etcd.Prefix = "/a b"), "hold no spaces" },
        new object[] { Etcd(o => o.Etcd.LeaseTtl = TimeSpan.FromSeconds(1)), "Scheduler:Etcd:LeaseTtl must be whole seconds from 00:00:02 to 00:05:00" },
        new object[] { Etcd(o => o.Etcd.LeaseTtl = TimeSpan.FromMilliseconds(2500)), "Scheduler:Etcd:LeaseTtl must be whole seconds" },
        new object[] { Etcd(o => o.Etcd.LeaseTtl = TimeSpan.FromMinutes(6)), "Scheduler:Etcd:LeaseTtl must be whole seconds" },
        new object[] { Etcd(o => o.Etcd.StartTimeout = TimeSpan.Zero), "Scheduler:Etcd:StartTimeout must be more than 0" },
        new object[] { Etcd(o => o.Etcd.ClientCertificate = "/etc/x.crt"), "Scheduler:Etcd:ClientCertificate and Scheduler:Etcd:ClientKey go together" },
        new object[] { Etcd(o => o.Etcd.CaCertificate = "/nonexistent/ca.crt"), "Scheduler:Etcd:CaCertificate: no file \"/nonexistent/ca.crt\"" },
        new object[] { Etcd(o => o.Etcd.MaxTxnOps = 4), "Scheduler:Etcd:MaxTxnOps must be at least 8" },
        new object[] { Etcd(o => o.Etcd.MaxRequestBytes = 1000), "Scheduler:Etcd:MaxRequestBytes must be at least 65536" },
        new object[] { Etcd(o => o.Listen = "0.0.0.0:7400"), "Scheduler:AdvertiseAddress is needed with Scheduler:Store=etcd when Scheduler:Listen is a wildcard" },
        new object[] { Etcd(o => o.AdvertiseAddress = "sched1"), "Scheduler:AdvertiseAddress must be host:port" },
        new object[] { Etcd(o => o.AdvertiseAddress = "sched1:99999"), "Scheduler:AdvertiseAddress must be host:port" },
    ];

    [TestCaseSource(nameof(Refused))]
    public void A_setting_that_cannot_work_is_named(SchedulerOptions options, string problem)
    {
        var problems = new SchedulerOptionsValidator().Validate(null, options);

        Assert.That(problems.Failures, Has.Some.Contains(problem));
        Assert.That(problems.Failures, Has.None.Contains("hunter2"), "a password in a setting is never echoed");
    }

    private static readonly object[] Accepted =
    [
        new object[] { new SchedulerOptions() },
        new object[] { new SchedulerOptions { Store = "LiteDB", Listen = "0.0.0.0:7400" } },
        new object[] { Etcd(_ => { }) },
        new object[] { Etcd(o => { o.Listen = "0.0.0.0:7400"; o.AdvertiseAddress = "sched1.example:7400"; }) },
        new object[] { Etcd(o => { o.Etcd.Endpoints = "https://etcd1:2379, https://etcd2:2379,https://etcd3:2379"; o.Etcd.Prefix = "/orchestrator/prod"; o.Etcd.LeaseTtl = TimeSpan.FromSeconds(15); }) },
    ];

    [TestCaseSource(nameof(Accepted))]
    public void Settings_that_work_pass(SchedulerOptions options) =>
        Assert.That(new SchedulerOptionsValidator().Validate(null, options).Failures, Is.Null.Or.Empty);
}
