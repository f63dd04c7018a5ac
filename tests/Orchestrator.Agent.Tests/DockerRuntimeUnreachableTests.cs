using Orchestrator.Agent.Runtime;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Tests;

/// <summary>
/// The engine not there to answer (dockerd restarting, its socket gone) is the runtime being
/// unavailable in every call the supervisor makes while starting a task, not an exception of the HTTP
/// client that the supervisor does not know. A socket path where nothing listens stands for it.
/// </summary>
internal sealed class DockerRuntimeUnreachableTests
{
    private static readonly ContainerSpec Spec = new("orch-x", "busybox", [], [], [], 0, 0, 0, [], null, 10, new Dictionary<string, string>());
    private static readonly Dictionary<string, string> NoLabels = [];

    private static IEnumerable<TestCaseData> Calls()
    {
        TestCaseData Call(string name, Func<DockerRuntime, Task> call) => new TestCaseData(call).SetName(name);

        yield return Call("create", r => r.CreateAsync(Spec, CancellationToken.None));
        yield return Call("start", r => r.StartAsync("c1", CancellationToken.None));
        yield return Call("inspect", r => r.InspectAsync("c1", CancellationToken.None));
        yield return Call("create volume", r => r.CreateVolumeAsync(new VolumeSpec("v", "local", NoLabels, NoLabels), CancellationToken.None));
        yield return Call("volume exists", r => r.VolumeExistsAsync("v", CancellationToken.None));
        yield return Call("remove volume", r => r.RemoveVolumeAsync("v", CancellationToken.None));
        yield return Call("list volumes", r => r.ListVolumesAsync("k", "v", CancellationToken.None));
        yield return Call("create network", r => r.CreateNetworkAsync(new NetworkSpec("n", NoLabels), CancellationToken.None));
        yield return Call("remove network", r => r.RemoveNetworkAsync("n", CancellationToken.None));
        yield return Call("list networks", r => r.ListNetworksAsync("k", "v", CancellationToken.None));
    }

    [TestCaseSource(nameof(Calls))]
    public void An_engine_that_is_not_there_is_the_runtime_unavailable(Func<DockerRuntime, Task> call)
    {
        var directory = Directory.CreateTempSubdirectory("orchestrator-nodocker-").FullName;
        try
        {
            using var runtime = new DockerRuntime($"unix://{directory}/docker.sock");
            var thrown = Assert.CatchAsync(() => call(runtime));
            Assert.That(thrown, Is.TypeOf<RuntimeUnavailableException>(), thrown?.ToString());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
