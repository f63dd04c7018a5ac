using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Containerd.Oci;

namespace Orchestrator.Agent.Tests.Containerd;

internal sealed class RootfsUsersTests
{
    private const string Passwd = """
        root:x:0:0:root:/root:/bin/sh
        # a comment
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
        app:x:1000:1000::/home/app:/bin/sh
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
        broken:x:notanumber:1::/:/bin/sh

        """;

    private const string Group = """
        root:x:0:
        bin:x:1:root,daemon
        wheel:x:10:root
        app:x:1000:
        staff:x:50:app,daemon
        audio:x:29:app
        nogroup:x:65534:
        """;

    private string _top = "";
    private string _lower = "";

    [SetUp]
    public void CreateLayers()
    {
        _top = Directory.CreateTempSubdirectory("orchestrator-rootfs-top-").FullName;
        _lower = Directory.CreateTempSubdirectory("orchestrator-rootfs-lower-").FullName;
        Directory.CreateDirectory(Path.Combine(_lower, "etc"));
        File.WriteAllText(Path.Combine(_lower, "etc", "passwd"), Passwd);
        File.WriteAllText(Path.Combine(_lower, "etc", "group"), Group);
    }

    [TearDown]
    public void RemoveLayers()
    {
        Directory.Delete(_top, true);
        Directory.Delete(_lower, true);
    }

    private OciUser Resolve(string user) => RootfsUsers.Resolve(user, [_top, _lower]);

    [TestCase("", 0u, 0u, new uint[] { 1, 10 })]
    [TestCase("0", 0u, 0u, new uint[] { 1, 10 })]
    [TestCase("root", 0u, 0u, new uint[] { 1, 10 })]
    [TestCase("1000", 1000u, 1000u, new uint[] { 50, 29 })]
    [TestCase("app", 1000u, 1000u, new uint[] { 50, 29 })]
    [TestCase("1000:1000", 1000u, 1000u, new uint[0])]
    [TestCase("app:1000", 1000u, 1000u, new uint[0])]
    [TestCase("app:staff", 1000u, 50u, new uint[0])]
    [TestCase("nobody", 65534u, 65534u, new uint[0])]
    [TestCase("nobody:nogroup", 65534u, 65534u, new uint[0])]
    [TestCase("daemon", 1u, 1u, new uint[] { 1, 50 })]
    [TestCase("4242", 4242u, 0u, new uint[0])]
    [TestCase("4242:4343", 4242u, 4343u, new uint[0])]
    [TestCase("app:4343", 1000u, 4343u, new uint[0])]
    public void Users_resolve_as_runc_resolves_them(string user, uint uid, uint gid, uint[] additional)
    {
        var resolved = Resolve(user);

        Assert.That(resolved, Has.Property(nameof(OciUser.Uid)).EqualTo(uid).And.Property(nameof(OciUser.Gid)).EqualTo(gid));
        Assert.That(resolved.AdditionalGids, Is.EqualTo(additional));
    }

    [TestCase("ghost", "unable to find user ghost: no matching entries in passwd file")]
    [TestCase("ghost:app", "unable to find user ghost: no matching entries in passwd file")]
    [TestCase("app:ghosts", "unable to find group ghosts: no matching entries in group file")]
    [TestCase("99999999999", "uids and gids must be in range 0-2147483647")]
    public void Unknown_names_are_refused_with_dockers_words(string user, string message)
    {
        var error = Assert.Throws<ContainerOperationException>(() => Resolve(user));

        Assert.That(error!.Message, Is.EqualTo("CannotCreateContainerError: " + message));
    }

    [Test]
    public void The_top_layer_that_has_the_file_wins()
    {
        Directory.CreateDirectory(Path.Combine(_top, "etc"));
        File.WriteAllText(Path.Combine(_top, "etc", "passwd"), "app:x:2000:2000::/:/bin/sh\n");

        var resolved = Resolve("app");

        Assert.Multiple(() =>
        {
            Assert.That(resolved.Uid, Is.EqualTo(2000));
            Assert.That(resolved.Gid, Is.EqualTo(2000));

            // etc/group still comes from the lower layer, the top one lacking it.
            Assert.That(resolved.AdditionalGids, Is.EqualTo(new uint[] { 50, 29 }));
        });
    }

    [Test]
    public void Without_any_passwd_only_numbers_resolve()
    {
        Assert.Multiple(() =>
        {
            Assert.That(RootfsUsers.Resolve("", [_top]), Is.EqualTo(OciUser.Root).Using<OciUser>((a, b) => a.Uid == b.Uid && a.Gid == b.Gid && a.AdditionalGids.SequenceEqual(b.AdditionalGids)));
            Assert.That(RootfsUsers.Resolve("12:34", [_top]).Gid, Is.EqualTo(34));
            Assert.Throws<ContainerOperationException>(() => RootfsUsers.Resolve("app", [_top]));
        });
    }

    [Test]
    public void A_link_out_of_the_layer_is_not_followed()
    {
        Directory.CreateDirectory(Path.Combine(_top, "etc"));
        File.CreateSymbolicLink(Path.Combine(_top, "etc", "passwd"), Path.Combine(_lower, "etc", "passwd"));

        Assert.Throws<ContainerOperationException>(() => Resolve("app"));
    }
}
