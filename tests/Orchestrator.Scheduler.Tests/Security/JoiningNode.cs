using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Net.Client;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Tests.Integration;

namespace Orchestrator.Scheduler.Tests.Security;

/// <summary>
/// What a real agent does to get its identity, in process: a key of its own, a certificate signing
/// request, Join with the join token, then a channel that presents the certificate (the test server has
/// no TLS, so the certificate is handed to each call as the TLS layer would).
/// </summary>
internal sealed class JoiningNode : IDisposable
{
    private readonly SchedulerHost _host;
    private readonly List<GrpcChannel> _channels = [];

    public JoiningNode(SchedulerHost host, string name, string cluster = "default")
    {
        _host = host;
        Name = name;
        Cluster = cluster;
    }

    public string Name { get; }
    public string Cluster { get; }
    public X509Certificate2? Certificate { get; private set; }

    public static byte[] Csr(ECDsa key, string commonName) =>
        new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256).CreateSigningRequest();

    public async Task<JoinResponse> JoinAsync(string joinToken)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var channel = Track(_host.ChannelWith(token: null));
        var answer = await new AgentService.AgentServiceClient(channel).JoinAsync(new JoinRequest
        {
            JoinToken = joinToken,
            Cluster = Cluster,
            NodeName = Name,
            Csr = ByteString.CopyFrom(Csr(key, Name)),
        });
        Certificate = WithKey(answer.CertificatePem, key);
        return answer;
    }

    /// <summary>Renews over the current certificate; the new one becomes <see cref="Certificate"/>.</summary>
    public async Task<RenewCertificateResponse> RenewAsync()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var answer = await new AgentService.AgentServiceClient(ChannelWithCertificate()).RenewCertificateAsync(new RenewCertificateRequest
        {
            Csr = ByteString.CopyFrom(Csr(key, Name)),
        });
        Certificate = WithKey(answer.CertificatePem, key);
        return answer;
    }

    /// <summary>The agent service as reached with <paramref name="certificate"/> (default: this node's current one).</summary>
    public AgentService.AgentServiceClient Agents(X509Certificate2? certificate = null) => new(ChannelWithCertificate(certificate));

    public Task<SimulatedAgent> ConnectAsync(X509Certificate2? certificate = null, string? asNode = null) =>
        SimulatedAgent.ConnectAsync(Agents(certificate), asNode ?? Name, Cluster);

    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
    }

    private GrpcChannel ChannelWithCertificate(X509Certificate2? certificate = null) =>
        Track(_host.ChannelWith(token: null, certificate ?? Certificate ?? throw new InvalidOperationException("not joined yet")));

    private GrpcChannel Track(GrpcChannel channel)
    {
        _channels.Add(channel);
        return channel;
    }

    private static X509Certificate2 WithKey(string pem, ECDsa key)
    {
        using var certificate = X509Certificate2.CreateFromPem(pem);
        return certificate.CopyWithPrivateKey(key);
    }
}
