using Orchestrator.Scheduler.Storage;
using Orchestrator.Scheduler.Storage.Etcd;

namespace Orchestrator.Scheduler.HA;

/// <summary>
/// Proof that the shared CA and secrets key are in the data directory (<see cref="SharedSecurityMaterial"/>):
/// what loads either resolves this first when it is registered (Scheduler:Store=etcd).
/// </summary>
internal sealed class SharedSecurityReady
{
    private SharedSecurityReady()
    {
    }

    /// <exception cref="StorageException">The prefix is another's, etcd did not answer, or it holds half a CA: the scheduler cannot start (exit code 2).</exception>
    public static SharedSecurityReady Synchronize(SharedSecurityMaterial material, EtcdStateStore store, EtcdOptions options)
    {
        using var timeout = new CancellationTokenSource(options.StartTimeout);

        // Nothing of ours goes under a prefix that holds something else.
        store.EnsurePrefixIsOursAsync(timeout.Token).GetAwaiter().GetResult();
        try
        {
            material.SynchronizeAsync(timeout.Token).GetAwaiter().GetResult();
            return new SharedSecurityReady();
        }
        catch (Exception e) when (e is Grpc.Core.RpcException or OperationCanceledException or InvalidOperationException)
        {
            throw new StorageException($"cannot share the cluster CA and secrets key through etcd ({options.Endpoints}, {options.Prefix}/security/): {e.Message}", e);
        }
    }
}
