using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Tests.Security;

/// <summary>
/// A tiny TLS scheduler on 127.0.0.1, as the real one is: a server certificate of its CA, the CA
/// certificate answered by GetCaCertificate, any client certificate accepted at the handshake and
/// looked at by the service itself.
/// </summary>
internal sealed class TestScheduler : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestScheduler(WebApplication app, Authority authority, string address)
    {
        _app = app;
        Calls = authority;
        Address = address;
    }

    public string Address { get; }

    public Authority Calls { get; }

    /// <param name="answeredCa">The CA GetCaCertificate answers, when not its own (a man in the middle's copy of the real one).</param>
    public static async Task<TestScheduler> StartAsync(TestPki pki, string joinToken, TestPki? answeredCa = null)
    {
        var server = pki.IssueServer();
        var authority = new Authority(pki, joinToken, (answeredCa ?? pki).CaPem);
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(authority);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            listen.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificate = server,
                ClientCertificateMode = ClientCertificateMode.AllowCertificate,
                ClientCertificateValidation = (_, _, _) => true,
            });
        }));
        var app = builder.Build();
        app.MapGrpcService<Service>();
        await app.StartAsync();
        var port = new Uri(app.Urls.First()).Port;
        return new TestScheduler(app, authority, $"https://127.0.0.1:{port}");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>What the service saw, and what it signs with.</summary>
    internal sealed class Authority(TestPki pki, string joinToken, string answeredCaPem)
    {
        public string AnsweredCaPem { get; } = answeredCaPem;

        public TestPki Pki { get; } = pki;

        public string JoinToken { get; } = joinToken;

        public ConcurrentQueue<JoinRequest> Joins { get; } = new();

        /// <summary>The serial number of the client certificate of every Connect and RenewCertificate call.</summary>
        public ConcurrentQueue<string> ClientSerials { get; } = new();
    }

    private sealed class Service(Authority authority) : AgentService.AgentServiceBase
    {
        public override Task<GetCaCertificateResponse> GetCaCertificate(GetCaCertificateRequest request, ServerCallContext context) =>
            Task.FromResult(new GetCaCertificateResponse { CaCertificatePem = authority.AnsweredCaPem });

        public override Task<JoinResponse> Join(JoinRequest request, ServerCallContext context)
        {
            authority.Joins.Enqueue(request);
            if (request.JoinToken != authority.JoinToken)
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, "invalid join token"));
            }

            var now = DateTimeOffset.UtcNow;
            var cluster = request.Cluster.Length > 0 ? request.Cluster : "default";
            return Task.FromResult(new JoinResponse
            {
                CertificatePem = authority.Pki.IssueNode(request.Csr.ToByteArray(), request.NodeName, cluster, now.AddMinutes(-1), now.AddDays(90)),
                CaCertificatePem = authority.Pki.CaPem,
                ExpiresAt = Timestamp.FromDateTimeOffset(now.AddDays(90)),
            });
        }

        public override Task<RenewCertificateResponse> RenewCertificate(RenewCertificateRequest request, ServerCallContext context)
        {
            var client = ClientCertificate(context);
            var now = DateTimeOffset.UtcNow;
            return Task.FromResult(new RenewCertificateResponse
            {
                CertificatePem = authority.Pki.IssueNode(request.Csr.ToByteArray(), client.GetNameInfo(X509NameType.SimpleName, false), "default", now.AddMinutes(-1), now.AddDays(90)),
                CaCertificatePem = authority.Pki.CaPem,
                ExpiresAt = Timestamp.FromDateTimeOffset(now.AddDays(90)),
            });
        }

        public override async Task Connect(IAsyncStreamReader<AgentMessage> requestStream, IServerStreamWriter<SchedulerMessage> responseStream, ServerCallContext context)
        {
            var client = ClientCertificate(context);
            if (!await requestStream.MoveNext(context.CancellationToken))
            {
                return;
            }

            // The node is the one the certificate names, whatever RegisterNode says.
            await responseStream.WriteAsync(new SchedulerMessage
            {
                Registered = new Registered { Node = new Node { Name = client.GetNameInfo(X509NameType.SimpleName, false), Cluster = "default" }, HeartbeatIntervalSeconds = 5 },
            });
        }

        private X509Certificate2 ClientCertificate(ServerCallContext context)
        {
            var certificate = context.GetHttpContext().Connection.ClientCertificate
                ?? throw new RpcException(new Status(StatusCode.Unauthenticated, "a client certificate is needed"));
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(authority.Pki.Ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;

            // The CA has an issuer of its own (see TestPki), so the chain ends at it "partially".
            chain.ChainPolicy.VerificationFlags = X509VerificationFlags.AllowUnknownCertificateAuthority;
            if (!chain.Build(certificate) || !chain.ChainElements[^1].Certificate.RawData.AsSpan().SequenceEqual(authority.Pki.Ca.RawData))
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, "the client certificate is not the cluster's"));
            }

            authority.ClientSerials.Enqueue(certificate.SerialNumber);
            return certificate;
        }
    }
}
