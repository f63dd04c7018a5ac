using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Containerd;
using Orchestrator.Agent.Runtime.Containerd.Cni;
using Orchestrator.Agent.Runtime.Logs;
using Orchestrator.Agent.Runtime.Probes;

namespace Orchestrator.EndToEnd.Tests.RuntimeContract;

/// <summary>
/// The containerd runtime as the agent composes it for Agent:Runtime=containerd (RuntimeRegistration):
/// ContainerdRuntime with its images, CNI network, volumes and log rotation, health checks supplied by
/// ProbedRuntime; over a given socket and data directory. Disposing closes its connection.
/// </summary>
internal sealed class ContainerdComposition : IDisposable
{
    private readonly ContainerdClients _clients;
    private readonly LogRotator _logs;

    private ContainerdComposition(ContainerdClients clients, LogRotator logs, IContainerRuntime runtime)
    {
        _clients = clients;
        _logs = logs;
        Runtime = runtime;
    }

    public IContainerRuntime Runtime { get; }

    public static ContainerdComposition Compose(string socket, string dataDirectory, string bridgeName, string subnet)
    {
        var options = new ContainerdOptions { Socket = socket, BridgeName = bridgeName, Subnet = subnet };
        var clients = new ContainerdClients(options.Socket, options.Namespace);
        var logs = new LogRotator(TimeProvider.System);
        var runtime = new ContainerdRuntime(clients, options, dataDirectory, new ContainerdImages(clients, options), new CniNetwork(options, dataDirectory),
            new LocalVolumes(Path.Combine(dataDirectory, "volumes")), logs);
        return new ContainerdComposition(clients, logs, new ProbedRuntime(runtime, TimeProvider.System));
    }

    public void Dispose()
    {
        (Runtime as IDisposable)?.Dispose();
        _logs.Dispose();
        _clients.Dispose();
    }
}
