using Grpc.Core;
using Grpc.Health.V1;
using Orchestrator.Scheduler.Tests.BadInput;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// Bad input for every RPC: each gets a clear status whose message names the field, none changes the
/// state, and the scheduler stays healthy. (The same corpus runs against a daemon process in
/// Daemon/RunningDaemonBadInputTests.)
/// </summary>
internal sealed class BadInputTests : SchedulerTest
{
    private static IEnumerable<BadInputCorpus.BadCall> Cases() => BadInputCorpus.Cases();

    [TestCaseSource(nameof(Cases))]
    public async Task Bad_input_is_refused_clearly_and_changes_nothing(BadInputCorpus.BadCall bad)
    {
        var api = new ApiClients(Host.Channel);
        await using var agent = await BadInputCorpus.PrepareAsync(api);
        var before = await BadInputCorpus.StateAsync(api);

        var error = Refused(() => bad.Call(api));

        Assert.Multiple(async () =>
        {
            Assert.That(error.StatusCode, Is.EqualTo(bad.Status));
            Assert.That(error.Status.Detail, Is.EqualTo(bad.Detail));
            Assert.That(await BadInputCorpus.StateAsync(api), Is.EqualTo(before), "the state is unchanged");
            var health = await new Health.HealthClient(Host.Channel).CheckAsync(new HealthCheckRequest());
            Assert.That(health.Status, Is.EqualTo(HealthCheckResponse.Types.ServingStatus.Serving));
        });
    }
}
