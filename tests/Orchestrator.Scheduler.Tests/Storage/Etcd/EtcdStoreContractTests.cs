using Orchestrator.Scheduler.Storage;
using Orchestrator.Scheduler.Storage.Etcd;

namespace Orchestrator.Scheduler.Tests.Storage.Etcd;

/// <summary>The store contract over a real three-member etcd, each test under a prefix of its own.</summary>
internal sealed class EtcdStoreContractTests : StateStoreContract
{
    private EtcdOptions _options = new();

    [SetUp]
    public void FreshPrefix() => _options = EtcdTestCluster.FreshOptions();

    // Reopening is a new store on the same prefix: what it loads is what etcd holds.
    protected override IStateStore Open() => new EtcdStateStore(EtcdTestCluster.Connection.Client, _options);
}
