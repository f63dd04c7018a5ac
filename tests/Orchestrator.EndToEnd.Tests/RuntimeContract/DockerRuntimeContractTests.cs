using Orchestrator.Agent.Runtime;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.EndToEnd.Tests.RuntimeContract;

/// <summary>The runtime contract on this host's Docker engine, through DockerRuntime.</summary>
[TestFixture]
internal sealed class DockerRuntimeContractTests : RuntimeContractTests
{
    protected override bool SeparatesOutputStreams => true;

    protected override Task StartEngineAsync()
    {
        Docker.RequireReady();
        return Task.CompletedTask;
    }

    protected override void StopEngine()
    {
        // The host's dockerd is not ours to stop.
    }

    protected override IContainerRuntime NewRuntime() => new DockerRuntime("unix:///var/run/docker.sock");

    protected override IReadOnlyList<string> EngineLeftovers(string prefix)
    {
        var (code, output) = Docker.Run("ps", "-a", "--filter", $"name={prefix}", "--format", "{{.Names}}");
        Assert.That(code, Is.Zero, output);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }
}
