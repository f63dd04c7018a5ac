using Orchestrator.Agent.Tasks;

namespace Orchestrator.Agent.Tests;

internal sealed class HostPathsTests
{
    [TestCase("/data", "/data", true)]
    [TestCase("/data/db", "/data", true)]
    [TestCase("/data2", "/data", false)]
    [TestCase("/dat", "/data", false)]
    [TestCase("/", "/data", false)]
    [TestCase("/anything", "/", true)]
    public void Under_compares_whole_segments(string path, string root, bool under) =>
        Assert.That(HostPaths.IsUnder(path, root), Is.EqualTo(under));

    [TestCase("/data/db", true)]
    [TestCase("/data/db/", true)]
    [TestCase("/", true)]
    [TestCase("/data/../etc", false)]
    [TestCase("/data/./db", false)]
    [TestCase("/data//db", false)]
    [TestCase("data/db", false)]
    public void Only_normal_absolute_paths_are_taken_as_given(string path, bool normal) =>
        Assert.That(HostPaths.IsNormal(path), Is.EqualTo(normal));

    [Test]
    public void Links_are_followed_segment_by_segment_and_what_does_not_exist_is_kept()
    {
        var root = Directory.CreateTempSubdirectory("orchestrator-paths-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "real", "inner"));
            Directory.CreateSymbolicLink(Path.Combine(root, "absolute"), Path.Combine(root, "real"));
            Directory.CreateSymbolicLink(Path.Combine(root, "relative"), "real/inner");
            Directory.CreateSymbolicLink(Path.Combine(root, "real", "inner", "up"), "../..");
            Directory.CreateSymbolicLink(Path.Combine(root, "loop"), Path.Combine(root, "loop"));

            Assert.Multiple(() =>
            {
                Assert.That(HostPaths.Resolve(Path.Combine(root, "absolute", "inner", "x", "y")), Is.EqualTo(Path.Combine(root, "real", "inner", "x", "y")));
                Assert.That(HostPaths.Resolve(Path.Combine(root, "relative")), Is.EqualTo(Path.Combine(root, "real", "inner")));
                Assert.That(HostPaths.Resolve(Path.Combine(root, "relative", "up", "absolute")), Is.EqualTo(Path.Combine(root, "real")),
                    ".. after a link is the link target's parent, as the kernel has it");
                Assert.Throws<IOException>(() => HostPaths.Resolve(Path.Combine(root, "loop", "x")));
                Assert.That(HostPaths.AllowingRoot(Path.Combine(root, "absolute", "db"), [Path.Combine(root, "real")]), Is.EqualTo(Path.Combine(root, "real")));
                Assert.That(HostPaths.AllowingRoot(Path.Combine(root, "real", "db"), [Path.Combine(root, "absolute")]), Is.EqualTo(Path.Combine(root, "absolute")),
                    "an allowed path that is a link allows where it leads");
                Assert.That(HostPaths.AllowingRoot(Path.Combine(root, "real", "inner", "up", "x"), [Path.Combine(root, "real")]), Is.Null);
            });
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public void Only_nothing_there_reads_as_missing_and_any_other_error_is_one()
    {
        string? Denied(string path) => path == "/srv/locked" ? throw new UnauthorizedAccessException("denied") : null;
        string? Broken(string path) => path == "/srv/disk" ? throw new IOException("Input/output error") : null;
        string? Missing(string path) => path == "/srv" ? null : throw new FileNotFoundException("no such file", path);

        Assert.Multiple(() =>
        {
            Assert.That(Assert.Throws<IOException>(() => HostPaths.Resolve("/srv/locked/db", Denied))!.Message, Is.EqualTo("permission denied looking at /srv/locked"));
            Assert.That(Assert.Throws<IOException>(() => HostPaths.Resolve("/srv/disk/db", Broken))!.Message, Is.EqualTo("cannot look at /srv/disk: Input/output error"));
            Assert.That(HostPaths.Resolve("/srv/new/db", Missing), Is.EqualTo("/srv/new/db"));
        });
    }
}
