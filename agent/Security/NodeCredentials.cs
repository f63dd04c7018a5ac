using System.Security.Cryptography.X509Certificates;

namespace Orchestrator.Agent.Security;

/// <summary>What this node proves itself and checks the scheduler with: its certificate (with its key) and the cluster CA.</summary>
internal sealed class NodeCredentials(X509Certificate2 certificate, X509Certificate2 ca)
{
    private const string OrganizationOid = "2.5.4.10";

    /// <summary>The node's client certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; } = certificate;

    /// <summary>The cluster CA the scheduler's certificate must chain to.</summary>
    public X509Certificate2 Ca { get; } = ca;

    public DateTimeOffset NotBefore { get; } = new(certificate.NotBefore.ToUniversalTime());

    public DateTimeOffset NotAfter { get; } = new(certificate.NotAfter.ToUniversalTime());

    /// <summary>The subject's CN: the node name the scheduler knows this node by.</summary>
    public string NodeName => Certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);

    /// <summary>The subject's O: the node's cluster.</summary>
    public string? Cluster =>
        Certificate.SubjectName.EnumerateRelativeDistinguishedNames()
            .FirstOrDefault(n => !n.HasMultipleElements && n.GetSingleElementType().Value == OrganizationOid)?.GetSingleElementValue();
}
