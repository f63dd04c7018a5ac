using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Orchestrator.Agent.Security;

/// <summary>
/// The node's credentials in its state directory: <c>node.key</c> (PKCS#8 PEM, mode 0600),
/// <c>node.crt</c> and <c>ca.crt</c>. Each file is written to a temporary file and renamed over the
/// old one, so a crash leaves either the old file or the new one, never half of one.
/// </summary>
internal sealed class NodeCredentialStore(string directory)
{
    public const string KeyFile = "node.key";
    public const string CertificateFile = "node.crt";
    public const string CaFile = "ca.crt";

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = OwnerOnly | UnixFileMode.UserExecute;
    private const UnixFileMode Public = OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    public string Directory { get; } = Path.GetFullPath(directory);

    /// <returns>The stored credentials, or null when the node has not joined yet (no node.crt).</returns>
    /// <exception cref="CredentialStoreException">The files are there but unreadable, damaged or do not belong together.</exception>
    public NodeCredentials? Load()
    {
        var certificatePath = Path.Combine(Directory, CertificateFile);
        if (!File.Exists(certificatePath))
        {
            return null;
        }

        try
        {
            var certificatePem = File.ReadAllText(certificatePath);
            var keyPem = File.ReadAllText(Path.Combine(Directory, KeyFile));
            var caPem = File.ReadAllText(Path.Combine(Directory, CaFile));
            return new NodeCredentials(WithKey(certificatePem, keyPem), X509Certificate2.CreateFromPem(caPem));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new CredentialStoreException($"the node credentials in {Directory} cannot be used: {e.Message}", e);
        }
    }

    /// <summary>Writes the node's new key, certificate and CA, and answers them loaded, as <see cref="Load"/> would.</summary>
    /// <exception cref="CredentialStoreException">The directory or a file cannot be written.</exception>
    public NodeCredentials Save(ECDsa key, string certificatePem, string caPem)
    {
        var keyPem = key.ExportPkcs8PrivateKeyPem();
        NodeCredentials credentials;
        try
        {
            // Checked before anything is written: a certificate for another key must not replace a good one.
            credentials = new NodeCredentials(WithKey(certificatePem, keyPem), X509Certificate2.CreateFromPem(caPem));
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new CredentialStoreException($"the scheduler's certificate cannot be used with this node's key: {e.Message}", e);
        }

        var temporaries = new List<string>();
        try
        {
            CreateDirectory();

            // All three are written before any is renamed, which keeps the window where the files do
            // not belong together to three renames.
            temporaries.Add(WriteTemporary(KeyFile, keyPem, OwnerOnly));
            temporaries.Add(WriteTemporary(CertificateFile, certificatePem, Public));
            temporaries.Add(WriteTemporary(CaFile, caPem, Public));
            File.Move(temporaries[0], Path.Combine(Directory, KeyFile), overwrite: true);
            File.Move(temporaries[1], Path.Combine(Directory, CertificateFile), overwrite: true);
            File.Move(temporaries[2], Path.Combine(Directory, CaFile), overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            foreach (var temporary in temporaries)
            {
                File.Delete(temporary); // no error for one already renamed
            }

            throw new CredentialStoreException($"cannot write the node credentials to {Directory}: {e.Message}", e);
        }

        return credentials;
    }

    private static X509Certificate2 WithKey(string certificatePem, string keyPem)
    {
        // CreateFromPem refuses a key that does not match the certificate's public key.
        using var certificate = X509Certificate2.CreateFromPem(certificatePem, keyPem);

        // A certificate with a key that lives only in memory cannot always be used by TLS; one loaded
        // from PKCS#12 can, on every platform.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), password: null);
    }

    private void CreateDirectory()
    {
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(Directory);
        }
        else
        {
            System.IO.Directory.CreateDirectory(Directory, OwnerOnlyDirectory);
        }
    }

    private string WriteTemporary(string name, string content, UnixFileMode mode)
    {
        var path = Path.Combine(Directory, $".{name}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            // Created with its final mode: the key is never readable by others, not even for a moment.
            options.UnixCreateMode = mode;
        }

        try
        {
            using var stream = new FileStream(path, options);
            using (var writer = new StreamWriter(stream, leaveOpen: true))
            {
                writer.Write(content);
            }

            stream.Flush(flushToDisk: true);
            return path;
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }
}
