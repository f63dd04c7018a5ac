using System.Diagnostics;
using Orchestrator.Agent.Runtime;

namespace Orchestrator.Agent.Telemetry;

/// <summary>
/// Times every call to the container runtime, by operation: the one place Docker calls are measured,
/// around <see cref="DockerRuntime"/>, so the runtime itself stays about Docker only. The event stream
/// and a task's log stream are long-lived and not calls: they pass through untimed. An exec is timed
/// until its process is started and attached.
/// </summary>
internal sealed class MeteredRuntime(IContainerRuntime inner, AgentMeter meter) : IContainerRuntime, IDisposable
{
    public RuntimeCapabilities Capabilities => inner.Capabilities;

    public Task<RuntimeInfo> InfoAsync(CancellationToken cancellation) => Timed("info", () => inner.InfoAsync(cancellation));

    public Task EnsureImageAsync(string image, CancellationToken cancellation) => Timed("ensure_image", () => inner.EnsureImageAsync(image, cancellation));

    public Task<string> CreateAsync(ContainerSpec spec, CancellationToken cancellation) => Timed("create", () => inner.CreateAsync(spec, cancellation));

    public Task StartAsync(string id, CancellationToken cancellation) => Timed("start", () => inner.StartAsync(id, cancellation));

    public Task StopAsync(string id, TimeSpan timeout, CancellationToken cancellation) => Timed("stop", () => inner.StopAsync(id, timeout, cancellation));

    public Task RemoveLeftoversAsync(CancellationToken cancellation) => inner.RemoveLeftoversAsync(cancellation);

    public Task RemoveAsync(string id, CancellationToken cancellation) => Timed("remove", () => inner.RemoveAsync(id, cancellation));

    public Task<ContainerInfo?> InspectAsync(string id, CancellationToken cancellation) => Timed("inspect", () => inner.InspectAsync(id, cancellation));

    public Task<IReadOnlyList<ContainerInfo>> ListAsync(string labelKey, string labelValue, CancellationToken cancellation) =>
        Timed("list", () => inner.ListAsync(labelKey, labelValue, cancellation));

    public IAsyncEnumerable<RuntimeEvent> EventsAsync(string labelKey, string labelValue, CancellationToken cancellation) =>
        inner.EventsAsync(labelKey, labelValue, cancellation);

    public Task CreateVolumeAsync(VolumeSpec spec, CancellationToken cancellation) => Timed("create_volume", () => inner.CreateVolumeAsync(spec, cancellation));

    public Task<bool> VolumeExistsAsync(string name, CancellationToken cancellation) => Timed("inspect_volume", () => inner.VolumeExistsAsync(name, cancellation));

    public Task RemoveVolumeAsync(string name, CancellationToken cancellation) => Timed("remove_volume", () => inner.RemoveVolumeAsync(name, cancellation));

    public Task<IReadOnlyList<LabelledResource>> ListVolumesAsync(string labelKey, string labelValue, CancellationToken cancellation) =>
        Timed("list_volumes", () => inner.ListVolumesAsync(labelKey, labelValue, cancellation));

    public Task CreateNetworkAsync(NetworkSpec spec, CancellationToken cancellation) => Timed("create_network", () => inner.CreateNetworkAsync(spec, cancellation));

    public Task RemoveNetworkAsync(string name, CancellationToken cancellation) => Timed("remove_network", () => inner.RemoveNetworkAsync(name, cancellation));

    public Task<IReadOnlyList<LabelledResource>> ListNetworksAsync(string labelKey, string labelValue, CancellationToken cancellation) =>
        Timed("list_networks", () => inner.ListNetworksAsync(labelKey, labelValue, cancellation));

    public IAsyncEnumerable<OutputChunk> ReadLogsAsync(string id, LogReadOptions options, CancellationToken cancellation) =>
        inner.ReadLogsAsync(id, options, cancellation);

    public Task<IExecProcess> ExecAsync(string id, ExecSpec spec, CancellationToken cancellation) => Timed("exec", () => inner.ExecAsync(id, spec, cancellation));

    public void Dispose() => (inner as IDisposable)?.Dispose();

    private async Task Timed(string operation, Func<Task> call)
    {
        var started = Stopwatch.GetTimestamp();
        var ok = false;
        try
        {
            await call();
            ok = true;
        }
        finally
        {
            meter.DockerCalled(operation, started, ok);
        }
    }

    private async Task<T> Timed<T>(string operation, Func<Task<T>> call)
    {
        var started = Stopwatch.GetTimestamp();
        var ok = false;
        try
        {
            var result = await call();
            ok = true;
            return result;
        }
        finally
        {
            meter.DockerCalled(operation, started, ok);
        }
    }
}
