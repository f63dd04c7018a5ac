using Orchestrator.Agent.Security;

namespace Orchestrator.Agent.Tests.Security;

internal sealed class JoinTokenTests
{
    private const string Digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    [Test]
    public void A_good_token_gives_its_digest_and_keeps_its_text()
    {
        var token = JoinToken.Parse($"ORCH-1-{Digest}-abc123xyz");
        Assert.Multiple(() =>
        {
            Assert.That(Convert.ToHexStringLower(token.CaDigest), Is.EqualTo(Digest));
            Assert.That(token.Text, Is.EqualTo($"ORCH-1-{Digest}-abc123xyz"));
        });
    }

    [Test]
    public void A_secret_may_contain_dashes()
    {
        Assert.That(JoinToken.Parse($"ORCH-1-{Digest}-abc-def").Text, Does.EndWith("-abc-def"));
    }

    [TestCase("SWMTKN-1-" + Digest + "-abc", TestName = "Swarm's prefix")]
    [TestCase("ORCH-2-" + Digest + "-abc", TestName = "another version")]
    [TestCase(Digest + "-abc", TestName = "no prefix")]
    [TestCase("orch-1-" + Digest + "-abc", TestName = "lowercase prefix")]
    public void A_wrong_prefix_is_refused(string text)
    {
        Assert.That(() => JoinToken.Parse(text), Throws.TypeOf<FormatException>().With.Message.Contains("must start with ORCH-1-"));
    }

    [TestCase("ORCH-1-9f86d081884c7d659a2feaa0c55ad015-abc", TestName = "a 128-bit digest")]
    [TestCase("ORCH-1-" + Digest + "00-abc", TestName = "a digest too long")]
    [TestCase("ORCH-1-zz86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08-abc", TestName = "not hex")]
    [TestCase("ORCH-1-" + Digest, TestName = "no secret at all")]
    public void A_bad_digest_is_refused(string text)
    {
        Assert.That(() => JoinToken.Parse(text), Throws.TypeOf<FormatException>().With.Message.Contains("64 hex digits"));
    }

    [TestCase("ORCH-1-" + Digest + "-", TestName = "an empty secret")]
    [TestCase("ORCH-1-" + Digest + "-a b", TestName = "a secret with a space")]
    public void A_bad_secret_is_refused(string text)
    {
        Assert.That(() => JoinToken.Parse(text), Throws.TypeOf<FormatException>());
    }

    [Test]
    public void Neither_the_text_nor_an_error_shows_the_secret()
    {
        var token = JoinToken.Parse($"ORCH-1-{Digest}-topsecret");
        var error = Assert.Throws<FormatException>(() => JoinToken.Parse($"ORCH-1-{Digest[..10]}-topsecret"))!;
        Assert.Multiple(() =>
        {
            Assert.That(token.ToString(), Does.Not.Contain("topsecret").And.Contain(Digest));
            Assert.That(error.Message, Does.Not.Contain("topsecret"));
        });
    }
}
