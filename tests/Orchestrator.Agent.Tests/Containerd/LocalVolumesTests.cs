using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Containerd;

namespace Orchestrator.Agent.Tests.Containerd;

internal sealed class LocalVolumesTests
{
    private string _directory = "";
    private LocalVolumes _volumes = null!;

    [SetUp]
    public void CreateDirectory()
    {
        _directory = Directory.CreateTempSubdirectory("orchestrator-volumes-").FullName;
        _volumes = new LocalVolumes(Path.Combine(_directory, "volumes"));
    }

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, true);

    private static VolumeSpec Volume(string name, string task, string driver = "local", IReadOnlyDictionary<string, string>? options = null) =>
        new(name, driver, options ?? new Dictionary<string, string>(), new Dictionary<string, string> { ["orchestrator.task"] = task, ["other"] = "x" });

    [Test]
    public async Task A_created_volume_is_a_data_directory_that_exists()
    {
        await _volumes.CreateAsync(Volume("data-1", "t1"), CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That(_volumes.PathOf("data-1"), Is.EqualTo(Path.Combine(_directory, "volumes", "data-1", "_data")));
            Assert.That(Directory.Exists(_volumes.PathOf("data-1")), Is.True);
            Assert.That(await _volumes.ExistsAsync("data-1", CancellationToken.None), Is.True);
            Assert.That(await _volumes.ExistsAsync("data-2", CancellationToken.None), Is.False);
        });
    }

    [Test]
    public async Task Creating_again_keeps_the_data_and_the_first_labels()
    {
        await _volumes.CreateAsync(Volume("data-1", "t1"), CancellationToken.None);
        await File.WriteAllTextAsync(Path.Combine(_volumes.PathOf("data-1"), "kept"), "yes");

        await _volumes.CreateAsync(Volume("data-1", "t2"), CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That(File.Exists(Path.Combine(_volumes.PathOf("data-1"), "kept")), Is.True);
            Assert.That((await _volumes.ListAsync("orchestrator.task", "t1", CancellationToken.None)).Select(v => v.Name), Is.EqualTo(new[] { "data-1" }));
        });
    }

    [Test]
    public async Task List_filters_by_label()
    {
        await _volumes.CreateAsync(Volume("va", "t1"), CancellationToken.None);
        await _volumes.CreateAsync(Volume("vb", "t2"), CancellationToken.None);
        await _volumes.CreateAsync(Volume("vc", "t1"), CancellationToken.None);
        Directory.CreateDirectory(Path.Combine(_directory, "volumes", "stray"));

        var listed = await _volumes.ListAsync("orchestrator.task", "t1", CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(listed.Select(v => v.Name), Is.EqualTo(new[] { "va", "vc" }));
            Assert.That(listed[0].Labels, Is.EquivalentTo(new Dictionary<string, string> { ["orchestrator.task"] = "t1", ["other"] = "x" }));
        });
    }

    [Test]
    public async Task List_without_any_volume_is_empty() =>
        Assert.That(await _volumes.ListAsync("orchestrator.task", "t1", CancellationToken.None), Is.Empty);

    [Test]
    public async Task Remove_removes_it_and_a_missing_one_is_fine()
    {
        await _volumes.CreateAsync(Volume("va", "t1"), CancellationToken.None);
        await File.WriteAllTextAsync(Path.Combine(_volumes.PathOf("va"), "file"), "x");

        await _volumes.RemoveAsync("va", CancellationToken.None);
        await _volumes.RemoveAsync("va", CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That(await _volumes.ExistsAsync("va", CancellationToken.None), Is.False);
            Assert.That(await _volumes.ListAsync("orchestrator.task", "t1", CancellationToken.None), Is.Empty);
            Assert.That(Directory.EnumerateFileSystemEntries(Path.Combine(_directory, "volumes")), Is.Empty);
        });
    }

    [TestCase("nfs")]
    [TestCase("rexray/ebs")]
    public void Another_driver_is_refused_by_name(string driver)
    {
        var error = Assert.ThrowsAsync<ContainerOperationException>(() => _volumes.CreateAsync(Volume("va", "t1", driver), CancellationToken.None));

        Assert.Multiple(() =>
        {
            Assert.That(error!.Message, Does.Contain(driver));
            Assert.That(Directory.Exists(Path.Combine(_directory, "volumes", "va")), Is.False);
        });
    }

    [Test]
    public void Driver_options_are_refused_by_name()
    {
        var error = Assert.ThrowsAsync<ContainerOperationException>(() =>
            _volumes.CreateAsync(Volume("va", "t1", options: new Dictionary<string, string> { ["type"] = "nfs", ["device"] = ":/export" }), CancellationToken.None));

        Assert.That(error!.Message, Does.Contain("device, type").And.Not.Contain(":/export"));
    }

    [TestCase("../escape")]
    [TestCase("a/b")]
    [TestCase(".hidden")]
    [TestCase("x")]
    public void Names_docker_refuses_are_refused(string name) =>
        Assert.ThrowsAsync<ContainerOperationException>(() => _volumes.CreateAsync(Volume(name, "t1"), CancellationToken.None));
}
