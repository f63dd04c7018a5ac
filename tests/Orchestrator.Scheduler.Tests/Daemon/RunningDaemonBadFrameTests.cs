using System.Net.Security;
using Grpc.Core;
using Grpc.Health.V1;
using Orchestrator.Scheduler.Tests.BadInput;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Daemon;

/// <summary>
/// The bad frames against a running scheduler over TLS, through Kestrel's own HTTP/2 (which reads
/// request bodies unlike the test server: with zero-byte reads first).
/// </summary>
internal sealed class RunningDaemonBadFrameTests
{
    [Test]
    public async Task Each_bad_frame_gets_its_status_from_a_running_daemon_which_stays_healthy()
    {
        var directory = Directory.CreateTempSubdirectory("orchestrator-daemon-").FullName;
        try
        {
            var port = DaemonProcess.FreePort();
            using var daemon = DaemonProcess.StartScheduler(Path.Combine(directory, "scheduler.db"), port);
            using var channel = SchedulerChannel.ForDaemon(port, directory);
            await daemon.RequireServingAsync(channel);
            using var client = new HttpClient(new SocketsHttpHandler
            {
                SslOptions = new SslClientAuthenticationOptions
                {
                    RemoteCertificateValidationCallback = (_, certificate, _, _) => SchedulerChannel.IssuedByCa(certificate, Path.Combine(directory, SchedulerChannel.CaFile)),
                },
            })
            { BaseAddress = new Uri($"https://127.0.0.1:{port}/") };

            var wrong = new List<string>();
            foreach (var bad in BadFrameTests.Cases())
            {
                var (method, body, encoding, code, detail) = ((string)bad.Arguments[0]!, (byte[])bad.Arguments[1]!, (string?)bad.Arguments[2], (StatusCode)bad.Arguments[3]!, (string?)bad.Arguments[4]);
                var (status, message) = await BadFrameTests.SendAsync(client, SchedulerChannel.AdminToken(directory)!, method, body, encoding);
                if (status != code || (detail is not null && !BadFrameTests.Matches(detail).Resolve().ApplyTo(message).IsSuccess))
                {
                    wrong.Add($"{bad.TestName}: {status} \"{message}\"");
                }
            }

            var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest());
            Assert.Multiple(() =>
            {
                Assert.That(wrong, Is.Empty, "every frame answered with its status and message");
                Assert.That(health.Status, Is.EqualTo(HealthCheckResponse.Types.ServingStatus.Serving));
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
