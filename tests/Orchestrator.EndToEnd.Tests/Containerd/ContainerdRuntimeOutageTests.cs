using Orchestrator.Agent.Runtime;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.EndToEnd.Tests.Containerd;

/// <summary>containerd going away under <see cref="Agent.Runtime.Containerd.ContainerdRuntime"/>: its event stream fails as Docker's does, so the event pump resyncs.</summary>
internal sealed class ContainerdRuntimeOutageTests
{
    [Test]
    public async Task TheEventStreamFailsAsUnavailableWhenContainerdStops()
    {
        using var fixture = await ContainerdRuntimeFixture.StartAsync();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var events = fixture.Runtime.EventsAsync("orchestrator.test", "outage", cancel.Token).GetAsyncEnumerator(cancel.Token);
        var next = events.MoveNextAsync().AsTask();
        await Task.Delay(500); // the subscription is made on the first read

        fixture.Containerd.Dispose();

        Assert.ThrowsAsync<RuntimeUnavailableException>(async () => await next);
        Assert.ThrowsAsync<RuntimeUnavailableException>(() => fixture.Runtime.InfoAsync(CancellationToken.None));
        await events.DisposeAsync();
    }
}
