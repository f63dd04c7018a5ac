using Orchestrator.Scheduler.Storage.Etcd;
using Orchestrator.Tests.Shared;

namespace Orchestrator.Scheduler.Tests.Storage.Etcd;

/// <summary>
/// One real three-member etcd for every etcd test in this namespace that does not break its cluster,
/// each test under a prefix of its own. Where /usr/bin/etcd is missing the tests fail, saying to run
/// ./build.sh test (which installs it): they never skip.
/// </summary>
[SetUpFixture]
internal sealed class EtcdTestCluster
{
    private static EtcdCluster? _cluster;
    private static EtcdConnection? _connection;

    public static EtcdCluster Cluster => _cluster ?? throw new InvalidOperationException("the etcd test cluster did not start");

    /// <summary>A client of the shared cluster, for tests to look at and change etcd directly.</summary>
    public static EtcdConnection Connection => _connection ?? throw new InvalidOperationException("the etcd test cluster did not start");

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _cluster = await EtcdCluster.StartAsync(3);
        _connection = EtcdClientFactory.Create(new EtcdOptions { Endpoints = _cluster.Endpoints });
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _connection?.Dispose();
        _cluster?.Dispose();
    }

    /// <summary>Settings for a fresh, empty prefix of the shared cluster.</summary>
    public static EtcdOptions FreshOptions() => new() { Endpoints = Cluster.Endpoints, Prefix = "/test/" + Guid.NewGuid().ToString("N") };
}
