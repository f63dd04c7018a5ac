using Etcdserverpb;
using Orchestrator.Scheduler.Storage;
using Orchestrator.Scheduler.Storage.Etcd;

namespace Orchestrator.Scheduler.HA;

/// <summary>
/// The etcd connection a starting scheduler needs: made, then waited for until etcd answers, for at
/// most Scheduler:Etcd:StartTimeout. A scheduler whose etcd does not answer in time stops with one line
/// and exit code 2 (systemd or Compose start it again): it has no state to serve from until it has read it.
/// </summary>
internal static class ConnectedEtcd
{
    private static readonly TimeSpan Retry = TimeSpan.FromMilliseconds(500);

    /// <exception cref="StorageException">etcd did not answer within the start timeout, or a setting is wrong.</exception>
    public static EtcdConnection Open(EtcdOptions options)
    {
        EtcdConnection connection;
        try
        {
            connection = EtcdClientFactory.Create(options);
        }
        catch (ArgumentException e)
        {
            throw new StorageException($"bad setting: {e.Message}", e);
        }

        var deadline = DateTime.UtcNow + options.StartTimeout;
        var kv = connection.Client.GetConnection().KVClient;
        var probe = new RangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8(options.Prefix + "/version") };
        string problem;
        while (true)
        {
            try
            {
                kv.Range(probe, deadline: DateTime.UtcNow + TimeSpan.FromSeconds(2));
                return connection;
            }
            catch (Grpc.Core.RpcException e)
            {
                problem = $"{e.Status.StatusCode}: {e.Status.Detail}";
            }

            if (DateTime.UtcNow + Retry > deadline)
            {
                connection.Dispose();
                throw new StorageException($"etcd at {options.Endpoints} did not answer within {options.StartTimeout} (Scheduler:Etcd:StartTimeout): {problem}");
            }

            Thread.Sleep(Retry);
        }
    }
}
