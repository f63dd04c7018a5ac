using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Orchestrator.Scheduler.Tests.BadInput;
using Orchestrator.Scheduler.Tests.Integration;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Daemon;

/// <summary>
/// The whole bad-input corpus against one running scheduler process, one request after another:
/// every request gets its clear status, the process stays up and healthy, and the state a user can
/// list is the same at the end as at the start.
/// </summary>
internal sealed class RunningDaemonBadInputTests
{
    [Test]
    public async Task The_corpus_is_answered_request_by_request_and_leaves_the_daemon_healthy_and_unchanged()
    {
        var directory = Directory.CreateTempSubdirectory("orchestrator-daemon-").FullName;
        try
        {
            var port = DaemonProcess.FreePort();
            // Cleartext on loopback (Scheduler:Insecure): the corpus's agent calls register by name. API calls carry the admin token.
            using var daemon = DaemonProcess.StartScheduler(Path.Combine(directory, "scheduler.db"), port, "--Scheduler:Insecure=true");
            using var channel = SchedulerChannel.ForDaemon(port, directory, tls: false);
            Assert.That(await daemon.WaitUntilServingAsync(channel), Is.True, string.Join("\n", daemon.StandardError));
            var api = new ApiClients(channel);
            await using var agent = await BadInputCorpus.PrepareAsync(api);
            var before = await BadInputCorpus.StateAsync(api);

            var wrong = new List<string>();
            var cases = BadInputCorpus.Cases().ToList();
            foreach (var bad in cases)
            {
                try
                {
                    await bad.Call(api);
                    wrong.Add($"{bad.Name}: accepted");
                }
                catch (RpcException e) when (e.StatusCode != bad.Status || e.Status.Detail != bad.Detail)
                {
                    wrong.Add($"{bad.Name}: {e.StatusCode} \"{e.Status.Detail}\"");
                }
                catch (RpcException)
                {
                    // As expected.
                }
            }

            var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest());
            Assert.Multiple(async () =>
            {
                Assert.That(cases, Has.Count.GreaterThan(50), "the whole corpus ran");
                Assert.That(wrong, Is.Empty, "every request answered with its status and message");
                Assert.That(daemon.HasExited, Is.False, "the daemon is still running");
                Assert.That(health.Status, Is.EqualTo(HealthCheckResponse.Types.ServingStatus.Serving));
                Assert.That(await BadInputCorpus.StateAsync(api), Is.EqualTo(before), "the state is unchanged");
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
