using Orchestrator.Cli;
using Orchestrator.Cli.Connection;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Cli;

/// <summary>Several schedulers in ORCHESTRATOR_ADDR: the first that answers takes the call.</summary>
internal sealed class CliFailoverTests
{
    [Test]
    public void Several_addresses_are_parsed_in_order()
    {
        var addresses = ConnectionSettings.ParseAddresses(" sched-1:7400, http://127.0.0.1:7401 ,,sched-3:7400");
        Assert.That(addresses.Select(a => a.ToString()), Is.EqualTo(new[] { "https://sched-1:7400/", "http://127.0.0.1:7401/", "https://sched-3:7400/" }));
    }

    [TestCase("")]
    [TestCase(" , ")]
    public void No_address_is_refused_naming_the_flag(string text) =>
        Assert.That(() => ConnectionSettings.ParseAddresses(text), Throws.TypeOf<CliException>().With.Message.StartWith("--addr: "));

    [Test]
    public void One_bad_address_among_several_is_refused_naming_it() =>
        Assert.That(() => ConnectionSettings.ParseAddresses("sched-1:7400,ftp://x:1"), Throws.TypeOf<CliException>().With.Message.Contains("ftp://x:1"));

    [Test]
    public async Task A_dead_first_scheduler_passes_the_call_to_the_second()
    {
        await using var server = await FakeTaskServer.StartAsync();
        var dead = Orchestrator.Tests.Shared.DaemonProcess.FreePort();
        var live = Orchestrator.Tests.Shared.DaemonProcess.FreePort();

        var result = await CliRunner.RunAsync(() => new ByPort(dead, server.Handler()), "token", ["task", "stop", FakeTaskService.Task],
            adjust: context => context with { Environment = new Dictionary<string, string>(context.Environment) { ["ORCHESTRATOR_ADDR"] = $"http://127.0.0.1:{dead},http://127.0.0.1:{live}" } });

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.Zero, result.ToString());
            Assert.That(server.Service.StopCalls, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task When_no_scheduler_answers_the_error_names_each()
    {
        var first = Orchestrator.Tests.Shared.DaemonProcess.FreePort();
        var second = Orchestrator.Tests.Shared.DaemonProcess.FreePort();

        var result = await CliRunner.RunAsync(() => new SocketsHttpHandler(), "token", ["task", "stop", FakeTaskService.Task],
            adjust: context => context with { Environment = new Dictionary<string, string>(context.Environment) { ["ORCHESTRATOR_ADDR"] = $"http://127.0.0.1:{first},http://127.0.0.1:{second}" } });

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.Not.Zero, result.ToString());
            Assert.That(result.Error, Does.Contain($"127.0.0.1:{first}").And.Contain($"127.0.0.1:{second}"));
        });
    }

    /// <summary>Requests to the dead port go to a real socket (and are refused there); the rest reach the in-process server.</summary>
    private sealed class ByPort(int dead, HttpMessageHandler live) : HttpMessageHandler
    {
        private readonly HttpMessageInvoker _socket = new(new SocketsHttpHandler());
        private readonly HttpMessageInvoker _live = new(live);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            (request.RequestUri!.Port == dead ? _socket : _live).SendAsync(request, cancellationToken);

        protected override void Dispose(bool disposing)
        {
            _socket.Dispose();
            _live.Dispose();
            base.Dispose(disposing);
        }
    }
}
