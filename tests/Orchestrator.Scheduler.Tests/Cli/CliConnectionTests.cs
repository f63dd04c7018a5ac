using Orchestrator.Cli;
using Orchestrator.Cli.Connection;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Cli;

/// <summary>Where the CLI connects, and its retries, which are the channel's service config's and not loops of its own.</summary>
internal sealed class CliConnectionTests
{
    [TestCase("https://10.0.0.5:7400", "https://10.0.0.5:7400/")]
    [TestCase("http://127.0.0.1:7400", "http://127.0.0.1:7400/")]
    [TestCase("scheduler.local:7400", "https://scheduler.local:7400/")]
    public void An_address_is_parsed_with_tls_unless_it_says_http(string text, string uri) =>
        Assert.That(ConnectionSettings.ParseAddress(text).ToString(), Is.EqualTo(uri));

    [TestCase("ftp://x:1")]
    [TestCase("https://x:1/some/path")]
    [TestCase("not an address")]
    public void A_malformed_address_is_refused_naming_the_flag(string text) =>
        Assert.That(() => ConnectionSettings.ParseAddress(text), Throws.TypeOf<CliException>().With.Message.StartWith("--addr: "));

    [TestCase(2, 0, 3)]
    [TestCase(9, 1, 5)]
    public async Task Unavailable_is_retried_by_the_channel_up_to_five_attempts(int unavailable, int exitCode, int calls)
    {
        await using var server = await FakeTaskServer.StartAsync();
        server.Service.UnavailableStops = unavailable;

        var result = await CliRunner.RunAsync(server.Handler, "token", ["task", "stop", FakeTaskService.Task]);

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(exitCode), result.ToString());
            Assert.That(server.Service.StopCalls, Is.EqualTo(calls));
        });
        if (exitCode != 0)
        {
            Assert.That(result.ErrorLines, Is.EqualTo(new[] { "orchestrator: Unavailable: scheduler: restarting" }));
        }
    }
}
