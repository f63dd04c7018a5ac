using System.Text;
using Orchestrator.Agent.Runtime.Containerd.Images;

namespace Orchestrator.Agent.Tests.Containerd;

public sealed class ImageManifestsTests
{
    private static byte[] Json(string text) => Encoding.UTF8.GetBytes(text);

    private static PlatformManifest Entry(string architecture, string variant = "", string mediaType = ImageManifests.OciManifest) =>
        new(new BlobDescriptor(mediaType, "sha256:" + architecture + variant, 1), "linux", architecture, variant);

    [Test]
    public void Choose_takes_the_hosts_architecture()
    {
        PlatformManifest[] entries = [Entry("arm64", "v8"), Entry("amd64"), new(new BlobDescriptor(ImageManifests.OciManifest, "sha256:att", 1), "unknown", "unknown", "")];
        Assert.That(ImageManifests.Choose(entries, new Platform("linux", "amd64", "")), Is.EqualTo(entries[1]));
        Assert.That(ImageManifests.Choose(entries, new Platform("linux", "arm64", "v8")), Is.EqualTo(entries[0]));
        Assert.That(ImageManifests.Choose(entries, new Platform("linux", "s390x", "")), Is.Null);
    }

    [Test]
    public void Choose_matches_variants_arm64_v8_being_the_default()
    {
        PlatformManifest[] arm = [Entry("arm", "v6"), Entry("arm", "v7"), Entry("arm64")];
        Assert.That(ImageManifests.Choose(arm, new Platform("linux", "arm", "v7")), Is.EqualTo(arm[1]));
        Assert.That(ImageManifests.Choose(arm, new Platform("linux", "arm64", "v8")), Is.EqualTo(arm[2]));
        Assert.That(ImageManifests.Choose([Entry("amd64", mediaType: ImageManifests.OciIndex)], new Platform("linux", "amd64", "")), Is.Null);
    }

    [Test]
    public void Media_type_comes_from_the_header_then_the_document_then_its_shape()
    {
        Assert.That(ImageManifests.MediaTypeOf(Json("{}"), ImageManifests.DockerManifest), Is.EqualTo(ImageManifests.DockerManifest));
        Assert.That(ImageManifests.MediaTypeOf(Json($$"""{"mediaType":"{{ImageManifests.DockerManifestList}}"}"""), "application/json"), Is.EqualTo(ImageManifests.DockerManifestList));
        Assert.That(ImageManifests.MediaTypeOf(Json("""{"manifests":[]}"""), null), Is.EqualTo(ImageManifests.OciIndex));
        Assert.That(ImageManifests.MediaTypeOf(Json("""{"config":{},"layers":[]}"""), null), Is.EqualTo(ImageManifests.OciManifest));
        Assert.Throws<InvalidDataException>(() => ImageManifests.MediaTypeOf(Json("""{"schemaVersion":1}"""), null));
        Assert.Throws<InvalidDataException>(() => ImageManifests.MediaTypeOf(Json("not json"), null));
    }

    [Test]
    public void Index_manifest_and_config_are_read()
    {
        var index = ImageManifests.ParseIndex(Json("""
            {"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:m","size":7,
              "platform":{"os":"linux","architecture":"arm","variant":"v7"}}]}
            """));
        Assert.That(index, Is.EqualTo(new[] { new PlatformManifest(new BlobDescriptor(ImageManifests.OciManifest, "sha256:m", 7), "linux", "arm", "v7") }));

        var manifest = ImageManifests.ParseManifest(Json("""
            {"config":{"mediaType":"c","digest":"sha256:c","size":3},
             "layers":[{"mediaType":"l","digest":"sha256:l1","size":10},{"mediaType":"l","digest":"sha256:l2","size":20}]}
            """));
        Assert.That(manifest.Config, Is.EqualTo(new BlobDescriptor("c", "sha256:c", 3)));
        Assert.That(manifest.Layers.Select(l => l.Digest), Is.EqualTo(new[] { "sha256:l1", "sha256:l2" }));
        Assert.Throws<InvalidDataException>(() => ImageManifests.ParseManifest(Json("""{"layers":[]}""")));

        var config = ImageManifests.ParseConfig(Json("""
            {"config":{"Env":["PATH=/bin","A=b"],"Entrypoint":null,"Cmd":["sh"],"User":"1000:1000","WorkingDir":"/www","StopSignal":"SIGQUIT"},
             "rootfs":{"type":"layers","diff_ids":["sha256:d1"]}}
            """));
        Assert.That(config.Environment, Is.EqualTo(new[] { "PATH=/bin", "A=b" }));
        Assert.That(config.EntryPoint, Is.Empty);
        Assert.That(config.Command, Is.EqualTo(new[] { "sh" }));
        Assert.That((config.User, config.WorkingDirectory, config.StopSignal), Is.EqualTo(("1000:1000", "/www", "SIGQUIT")));
        Assert.That(config.DiffIds, Is.EqualTo(new[] { "sha256:d1" }));
    }

    [Test]
    public void Config_without_config_section_is_empty_not_an_error()
    {
        var config = ImageManifests.ParseConfig(Json("""{"rootfs":{"diff_ids":[]}}"""));
        Assert.That(config.Environment, Is.Empty);
        Assert.That(config.User, Is.Empty);
    }

    [Test]
    public void Bearer_challenge_parameters_are_parsed_with_quoted_commas()
    {
        var challenge = RegistryClient.ParseChallenge("realm=\"https://auth.example/token\",service=\"registry.example\",scope=\"repository:a/b:pull,push\"");
        Assert.That(challenge["realm"], Is.EqualTo("https://auth.example/token"));
        Assert.That(challenge["service"], Is.EqualTo("registry.example"));
        Assert.That(challenge["scope"], Is.EqualTo("repository:a/b:pull,push"));
    }
}
