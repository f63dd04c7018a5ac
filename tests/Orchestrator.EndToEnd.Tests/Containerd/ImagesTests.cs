using System.Net;
using System.Net.Sockets;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Containerd;
using Orchestrator.Tests.Shared;

namespace Orchestrator.EndToEnd.Tests.Containerd;

/// <summary>ContainerdImages against a containerd of the test's own: imported, unpacked and pulled images.</summary>
[NonParallelizable]
public sealed class ImagesTests
{
    private const string ImportedName = "docker.io/orchestrator-test/busybox:latest";

    private ContainerdProcess _containerd = null!;
    private ContainerdClients _clients = null!;
    private ContainerdImages _images = null!;

    [SetUp]
    public async Task StartContainerd()
    {
        _containerd = await ContainerdProcess.StartAsync();
        _clients = new ContainerdClients(_containerd.Socket, ContainerdProcess.Namespace);
        _images = new ContainerdImages(_clients, new ContainerdOptions { Socket = _containerd.Socket });
    }

    [TearDown]
    public void StopContainerd()
    {
        _images.Dispose();
        _clients.Dispose();
        _containerd.Dispose();
    }

    [Test]
    public async Task Imported_image_resolves_to_its_config_and_unpacked_chain()
    {
        _containerd.ImportFromDocker();

        var config = await _images.EnsureAsync(ContainerdProcess.TestImage, CancellationToken.None);

        Assert.That(config.Name, Is.EqualTo(ImportedName));
        Assert.That(config.Environment, Is.EqualTo(new[] { "PATH=/bin" }), "the image's ENV, as docker image inspect shows it");
        Assert.That(config.ChainId, Is.EqualTo(DockerChainId()));
        Assert.That(SnapshotExists(config.ChainId), Is.True);
        Assert.That(await _images.EnsureAsync("docker.io/orchestrator-test/busybox", CancellationToken.None), Is.SameAs(config), "resolved once per name and target");
    }

    [Test]
    public async Task Image_imported_without_unpacking_is_unpacked_and_kept_from_the_garbage_collector()
    {
        var archive = Path.Combine(_containerd.Directory, "image.tar");
        Assert.That(ShellCommand.Run("docker", "save", "-o", archive, ContainerdProcess.TestImage).ExitCode, Is.Zero);
        var imported = _containerd.Ctr("images", "import", "--no-unpack", archive);
        File.Delete(archive);
        Assert.That(imported.ExitCode, Is.Zero, imported.Output);
        var chainId = DockerChainId();
        Assert.That(SnapshotExists(chainId), Is.False, "imported without unpacking");

        var config = await _images.EnsureAsync(ImportedName, CancellationToken.None);

        Assert.That(config.ChainId, Is.EqualTo(chainId));
        CollectGarbage();
        Assert.That(SnapshotExists(chainId), Is.True, "the config's gc.ref.snapshot label keeps it once the lease is gone");
        Assert.That(_containerd.Ctr("leases", "ls", "-q").Output, Is.Empty, "the unpack's lease is deleted");
        Assert.That(_containerd.Ctr("snapshots", "ls").Output, Does.Not.Contain("extract-"), "no half-unpacked snapshot");
    }

    [Test]
    public async Task Removed_snapshot_is_unpacked_again_by_a_new_ensure()
    {
        _containerd.ImportFromDocker();
        var chainId = DockerChainId();
        Assert.That(_containerd.Ctr("snapshots", "rm", chainId).ExitCode, Is.Zero);

        using var fresh = new ContainerdImages(_clients, new ContainerdOptions());
        var config = await fresh.EnsureAsync(ContainerdProcess.TestImage, CancellationToken.None);

        Assert.That(config.ChainId, Is.EqualTo(chainId));
        Assert.That(SnapshotExists(chainId), Is.True);
    }

    [Test]
    public async Task Missing_image_is_pulled_from_a_local_registry_with_a_bearer_token_and_runs()
    {
        await using var registry = await ImagesFakeRegistry.StartAsync(_containerd.Directory);

        var config = await _images.EnsureAsync(registry.Reference, CancellationToken.None);

        Assert.That(config.Name, Is.EqualTo(registry.Reference));
        Assert.That(config.Environment, Is.EqualTo(new[] { "PATH=/bin" }));
        Assert.That(config.ChainId, Is.EqualTo(DockerChainId()), "the layer's diff id, whatever its compression");
        Assert.That(_containerd.Ctr("images", "ls", "-q").Output.Split('\n'), Does.Contain(registry.Reference));
        CollectGarbage();
        Assert.That(SnapshotExists(config.ChainId), Is.True);
        Assert.That(_containerd.Ctr("content", "ls", "-q").Output, Does.Contain(registry.ConfigDigest), "the image keeps its blobs");

        var requests = registry.Requests;
        Assert.That(await _images.EnsureAsync(registry.Reference, CancellationToken.None), Is.SameAs(config));
        Assert.That(registry.Requests, Is.EqualTo(requests), "pulled once");

        // ctr runs it from the snapshot we unpacked (it unpacks nothing where the chain is there).
        var run = _containerd.Ctr("run", "--rm", registry.Reference, "images-test-run", "/bin/sh", "-c", "cat /www/index.html");
        Assert.That(run.ExitCode, Is.Zero, run.Output);
        Assert.That(run.Output, Is.Not.Empty);
    }

    [Test]
    public async Task Concurrent_ensures_of_a_missing_image_pull_it_once()
    {
        await using var registry = await ImagesFakeRegistry.StartAsync(_containerd.Directory);

        var configs = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => _images.EnsureAsync(registry.Reference, CancellationToken.None)));

        Assert.That(configs.Distinct().Count(), Is.EqualTo(1));
        Assert.That(registry.Requests, Is.EqualTo(3 + registry.DiffIds.Count), "index, manifest, config and each layer once");
    }

    [Test]
    public async Task Image_the_registry_does_not_have_is_an_image_pull_error_naming_it()
    {
        await using var registry = await ImagesFakeRegistry.StartAsync(_containerd.Directory);
        var reference = $"{registry.Domain}/fake/missing:1";

        var e = Assert.ThrowsAsync<ImagePullException>(() => _images.EnsureAsync(reference, CancellationToken.None));

        Assert.That(e!.Message, Does.StartWith($"CannotPullContainerError: {reference}: not found"));
        Assert.That(_containerd.Ctr("images", "ls", "-q").Output, Is.Empty);
        Assert.That(_containerd.Ctr("leases", "ls", "-q").Output, Is.Empty);
    }

    [Test]
    public async Task Layers_that_do_not_match_their_digest_fail_the_pull_and_leave_nothing_behind()
    {
        await using var registry = await ImagesFakeRegistry.StartAsync(_containerd.Directory);
        registry.CorruptLayers = true;

        var e = Assert.ThrowsAsync<ImagePullException>(() => _images.EnsureAsync(registry.Reference, CancellationToken.None));

        Assert.That(e!.Message, Does.StartWith($"CannotPullContainerError: {registry.Reference}: blob sha256:"));
        Assert.That(_containerd.Ctr("images", "ls", "-q").Output, Is.Empty);
        CollectGarbage();
        Assert.That(_containerd.Ctr("content", "ls", "-q").Output, Is.Empty, "nothing of the failed pull is kept");
        Assert.That(_containerd.Ctr("snapshots", "ls").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.LessThanOrEqualTo(1), "header only");
    }

    [Test]
    public void Unreachable_registry_is_an_image_pull_error()
    {
        var reference = $"127.0.0.1:{ClosedPort()}/fake/busybox:latest";

        var e = Assert.ThrowsAsync<ImagePullException>(() => _images.EnsureAsync(reference, CancellationToken.None));

        Assert.That(e!.Message, Does.StartWith($"CannotPullContainerError: {reference}: cannot reach the registry 127.0.0.1:"));
    }

    [Test]
    public void Reference_that_cannot_be_parsed_is_an_image_pull_error_naming_it()
    {
        var e = Assert.ThrowsAsync<ImagePullException>(() => _images.EnsureAsync("Not/A:Valid:Reference", CancellationToken.None));

        Assert.That(e!.Message, Does.Contain("Not/A:Valid:Reference"));
    }

    [Test]
    public async Task Containerd_gone_is_runtime_unavailable()
    {
        _containerd.ImportFromDocker();
        using var gone = new ContainerdClients(Path.Combine(_containerd.Directory, "no-such.sock"), ContainerdProcess.Namespace);
        using var images = new ContainerdImages(gone, new ContainerdOptions());

        Assert.ThrowsAsync<RuntimeUnavailableException>(() => images.EnsureAsync(ContainerdProcess.TestImage, CancellationToken.None));
        Assert.That((await _images.EnsureAsync(ContainerdProcess.TestImage, CancellationToken.None)).Name, Is.EqualTo(ImportedName), "the real one answers");
    }

    /// <summary>The chain id of the test image's layers as Docker reports their diff ids.</summary>
    private static string DockerChainId()
    {
        var inspected = ShellCommand.Run("docker", "image", "inspect", "--format", "{{join .RootFS.Layers \" \"}}", ContainerdProcess.TestImage);
        Assert.That(inspected.ExitCode, Is.Zero, inspected.Output);
        return Orchestrator.Agent.Runtime.Containerd.Images.OciDigest.ChainIds(inspected.Output.Split(' ', StringSplitOptions.RemoveEmptyEntries))[^1];
    }

    private bool SnapshotExists(string chainId) => _containerd.Ctr("snapshots", "--snapshotter", "overlayfs", "info", chainId).ExitCode == 0;

    /// <summary>Runs containerd's garbage collector now: deleting a lease with --sync collects synchronously.</summary>
    private void CollectGarbage()
    {
        var created = _containerd.Ctr("leases", "create", "--id", "images-test-gc");
        Assert.That(created.ExitCode, Is.Zero, created.Output);
        var deleted = _containerd.Ctr("leases", "delete", "--sync", "images-test-gc");
        Assert.That(deleted.ExitCode, Is.Zero, deleted.Output);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
