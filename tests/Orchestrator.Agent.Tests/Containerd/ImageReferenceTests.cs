using System.Text;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Containerd;
using Orchestrator.Agent.Runtime.Containerd.Images;

namespace Orchestrator.Agent.Tests.Containerd;

public sealed class ImageReferenceTests
{
    private const string Digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    [TestCase("busybox", "docker.io/library/busybox:latest")]
    [TestCase("busybox:1.36", "docker.io/library/busybox:1.36")]
    [TestCase("library/busybox", "docker.io/library/busybox:latest")]
    [TestCase("docker.io/busybox", "docker.io/library/busybox:latest")]
    [TestCase("index.docker.io/library/busybox:1", "docker.io/library/busybox:1")]
    [TestCase("orchestrator-test/busybox", "docker.io/orchestrator-test/busybox:latest")]
    [TestCase("orchestrator-test/busybox:latest", "docker.io/orchestrator-test/busybox:latest")]
    [TestCase("registry:5000/x/y:tag", "registry:5000/x/y:tag")]
    [TestCase("registry.example.com/x/y", "registry.example.com/x/y:latest")]
    [TestCase("localhost:5000/a", "localhost:5000/a:latest")]
    [TestCase("localhost/a", "localhost/a:latest")]
    [TestCase("127.0.0.1:5000/a/b:v1.2-rc_3", "127.0.0.1:5000/a/b:v1.2-rc_3")]
    [TestCase("x@" + Digest, "docker.io/library/x@" + Digest)]
    [TestCase("registry:5000/x:tag@" + Digest, "registry:5000/x:tag@" + Digest)]
    [TestCase("a/b.c-d__e", "docker.io/a/b.c-d__e:latest")]
    public void Normalize_names_as_containerd_does(string reference, string expected) =>
        Assert.That(ContainerdImages.Normalize(reference), Is.EqualTo(expected));

    [TestCase("")]
    [TestCase("Busybox")]
    [TestCase("docker.io/Library/busybox")]
    [TestCase("busybox:")]
    [TestCase("busybox:a/b")]
    [TestCase("busybox@sha256:abc")]
    [TestCase("-busybox")]
    [TestCase("busybox/")]
    [TestCase(" busybox")]
    [TestCase("registry:port/x")]
    public void Normalize_refuses_what_cannot_be_parsed_naming_it(string reference)
    {
        var e = Assert.Throws<ImagePullException>(() => ContainerdImages.Normalize(reference));
        Assert.That(e!.Message, Does.StartWith("CannotPullContainerError: invalid reference format: " + reference));
    }

    [Test]
    public void Parse_splits_domain_path_tag_and_digest()
    {
        var parsed = ImageReference.Parse("registry:5000/x/y:tag@" + Digest);
        Assert.That(parsed, Is.EqualTo(new ImageReference("registry:5000", "x/y", "tag", Digest)));
        Assert.That(parsed.ManifestReference, Is.EqualTo(Digest));
        Assert.That(ImageReference.Parse("busybox").ManifestReference, Is.EqualTo("latest"));
    }

    [TestCase("localhost:5000", "", true)]
    [TestCase("localhost", "", true)]
    [TestCase("127.0.0.1:40000", "", true)]
    [TestCase("[::1]:5000", "", true)]
    [TestCase("registry.lan:5000", "", false)]
    [TestCase("registry.lan:5000", "other, registry.lan:5000", true)]
    [TestCase("registry.lan:5000", "registry.lan", true)]
    [TestCase("docker.io", "registry.lan", false)]
    public void Http_only_for_loopback_and_listed_registries(string domain, string listed, bool insecure) =>
        Assert.That(ContainerdImages.IsInsecure(domain, listed), Is.EqualTo(insecure));

    [Test]
    public void Chain_id_of_one_layer_is_its_diff_id_and_then_hashes_the_chain()
    {
        const string a = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        const string b = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
        var chain = OciDigest.ChainIds([a, b]);
        Assert.That(chain[0], Is.EqualTo(a));
        Assert.That(chain[1], Is.EqualTo(OciDigest.Sha256(Encoding.UTF8.GetBytes(a + " " + b))));
        Assert.That(OciDigest.ChainIds([]), Is.Empty);
    }

    [Test]
    public void Digest_is_lower_hex_sha256_with_its_algorithm()
    {
        Assert.That(OciDigest.Sha256(Encoding.UTF8.GetBytes("")), Is.EqualTo("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    }
}
