using System.Text.Json;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>
/// The orchestrator CLI as a process against a scheduler daemon over TLS: the CA and token from
/// ORCHESTRATOR_CACERT and ORCHESTRATOR_TOKEN, a server the CA did not issue refused, a bad token
/// refused, and the token never printed.
/// </summary>
internal sealed class CliEndToEndTests
{
    private static (int ExitCode, string Output) Cli(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Repository.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "orchestrator.dll"), .. args], environment);

    [Test]
    public async Task The_cli_reaches_a_tls_scheduler_with_its_ca_and_token_and_only_then()
    {
        await using var cluster = await Cluster.StartAsync(agents: 0);
        var token = File.ReadAllText(Path.Combine(cluster.DataDirectory, "admin.token")).Trim();
        var otherCa = Path.Combine(cluster.DataDirectory, "other-ca.crt");
        using (var key = System.Security.Cryptography.ECDsa.Create())
        {
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=not the cluster CA", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            File.WriteAllText(otherCa, certificate.ExportCertificatePem());
        }

        Dictionary<string, string> Environment(string ca, string secret) => new()
        {
            ["ORCHESTRATOR_ADDR"] = $"127.0.0.1:{cluster.Port}",
            ["ORCHESTRATOR_CACERT"] = ca,
            ["ORCHESTRATOR_TOKEN"] = secret,
        };

        var ok = Cli(Environment(Path.Combine(cluster.DataDirectory, "ca.crt"), token), "cluster", "ls");
        var table = Cli(Environment(Path.Combine(cluster.DataDirectory, "ca.crt"), token), "cluster", "describe", "-o", "table");
        var untrusted = Cli(Environment(otherCa, token), "cluster", "ls");
        var badToken = Cli(Environment(Path.Combine(cluster.DataDirectory, "ca.crt"), "not-the-token"), "cluster", "ls");

        Assert.Multiple(() =>
        {
            Assert.That(ok.ExitCode, Is.EqualTo(0), ok.Output);
            Assert.That(JsonDocument.Parse(ok.Output).RootElement.GetProperty("names")[0].GetString(), Is.EqualTo("default"), "json when piped");
            Assert.That(table.Output, Does.Contain("registeredNodes"));
            Assert.That(untrusted.ExitCode, Is.EqualTo(1));
            Assert.That(untrusted.Output.Trim(), Does.StartWith("orchestrator: ").And.Contain("remote certificate was rejected").And.Contain("ORCHESTRATOR_CACERT"), "a server the CA did not issue");
            Assert.That(badToken.ExitCode, Is.EqualTo(1));
            Assert.That(badToken.Output.Trim(), Does.StartWith("orchestrator: Unauthenticated: "));
            Assert.That(ok.Output + table.Output + untrusted.Output + badToken.Output, Does.Not.Contain(token));
        });
    }
}
