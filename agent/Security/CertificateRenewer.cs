using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Security;

/// <summary>
/// Renews the node certificate over the mutual-TLS channel (RenewCertificate, no join token) with a
/// new key when less than a third of its lifetime remains, then saves it and swaps it in: new
/// connections present it at once, and the open stream keeps going on its connection.
/// </summary>
internal sealed partial class CertificateRenewer(
    AgentService.AgentServiceClient client,
    NodeCredentialStore store,
    NodeCredentialsHolder credentials,
    TimeProvider time,
    ILogger<CertificateRenewer> log) : BackgroundService
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await credentials.Available.WaitAsync(stoppingToken);
        var retry = FirstRetry;
        while (!stoppingToken.IsCancellationRequested)
        {
            var current = credentials.Current!;
            var wait = RenewalSchedule.Wait(time.GetUtcNow(), current.NotBefore, current.NotAfter);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time, stoppingToken);
                continue;
            }

            try
            {
                await RenewAsync(current, stoppingToken);
                retry = FirstRetry;
                continue;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is RpcException or IOException or HttpRequestException or CredentialStoreException or OperationCanceledException)
            {
                var problem = e is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : e.Message;
                if (time.GetUtcNow() >= current.NotAfter)
                {
                    LogExpired(log, current.NotAfter, problem);
                }
                else
                {
                    LogRenewalFailed(log, current.NotAfter, problem, retry.TotalMinutes);
                }
            }

            // Doubling to the hourly check: a scheduler that is away for a while is not asked every minute.
            await Task.Delay(retry, time, stoppingToken);
            retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, RenewalSchedule.CheckInterval.Ticks));
        }
    }

    private async Task RenewAsync(NodeCredentials current, CancellationToken stoppingToken)
    {
        LogRenewing(log, current.NotAfter);
        using var request = CertificateSigningRequest.Create(current.NodeName);
        var response = await client.RenewCertificateAsync(
            new RenewCertificateRequest { Csr = ByteString.CopyFrom(request.Der) },
            deadline: DateTime.UtcNow.AddSeconds(30),
            cancellationToken: stoppingToken);

        // An empty CA means the scheduler's CA has not changed.
        var caPem = response.CaCertificatePem.Length > 0 ? response.CaCertificatePem : current.Ca.ExportCertificatePem();
        var renewed = store.Save(request.Key, response.CertificatePem, caPem);
        credentials.Swap(renewed);
        LogRenewed(log, renewed.NotAfter);
    }

    [LoggerMessage(50, LogLevel.Information, "Renewing the node certificate (valid until {NotAfter:u})")]
    private static partial void LogRenewing(ILogger logger, DateTimeOffset notAfter);

    [LoggerMessage(51, LogLevel.Information, "Renewed the node certificate; the new one is valid until {NotAfter:u}")]
    private static partial void LogRenewed(ILogger logger, DateTimeOffset notAfter);

    [LoggerMessage(52, LogLevel.Warning, "Could not renew the node certificate (valid until {NotAfter:u}): {Problem}; retrying in {Minutes} min")]
    private static partial void LogRenewalFailed(ILogger logger, DateTimeOffset notAfter, string problem, double minutes);

    [LoggerMessage(53, LogLevel.Error, "The node certificate expired at {NotAfter:u} and could not be renewed ({Problem}); start the agent once with Agent:Rejoin=true and Agent:JoinToken to join again")]
    private static partial void LogExpired(ILogger logger, DateTimeOffset notAfter, string problem);
}
