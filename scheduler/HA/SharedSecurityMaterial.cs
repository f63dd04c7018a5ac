using System.Text;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.Security;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.HA;

/// <summary>
/// Makes every scheduler of one etcd prefix P use the same cluster CA (ca.crt, ca.key) and the same
/// secrets key (secrets.key): an agent's certificate issued by one must be trusted by the others, and a
/// secret sealed by one must open on the others. Runs before <see cref="ClusterSecurity"/> and
/// <see cref="SecretCipher"/> load them from the data directory:
/// <list type="bullet">
/// <item>etcd holds them at P/security/&lt;file name&gt;: they are written into the data directory (the
/// key files owner-only, as the code that makes them writes them), replacing local files that differ;</item>
/// <item>etcd holds none (the first scheduler): they are loaded or made locally as on a single scheduler,
/// then uploaded in ONE transaction that creates them only where they are still absent; a scheduler
/// that loses that race takes etcd's instead.</item>
/// </list>
/// When the operator gives the CA (Scheduler:CaCertificate and Scheduler:CaKey), each scheduler is given
/// the same files and no CA is shared; secrets.key still is.
/// <para>
/// SECURITY: etcd then holds the CA's private key and the secrets key in plain bytes, as Kubernetes keeps
/// Secrets in etcd. Whoever reads etcd can issue node certificates and open every secret: etcd must be
/// reached over TLS with client-certificate authentication (Scheduler:Etcd:CaCertificate,
/// ClientCertificate, ClientKey), its members' data directories and backups protected like the keys
/// themselves. The material is never logged, only its file names.
/// </para>
/// </summary>
internal sealed partial class SharedSecurityMaterial
{
    private const int Attempts = 3;

    private readonly EtcdClient _etcd;
    private readonly SchedulerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SharedSecurityMaterial> _log;
    private readonly string _prefix;

    /// <param name="directoryLock">Held: the files are written into the data directory, which only its lock holder may touch.</param>
    public SharedSecurityMaterial(EtcdClient etcd, SchedulerOptions options, DataDirectoryLock directoryLock, TimeProvider time, ILogger<SharedSecurityMaterial> log)
    {
        _ = directoryLock;
        _etcd = etcd;
        _options = options;
        _time = time;
        _log = log;
        _prefix = SecurityPrefix(options.Etcd.Prefix);
    }

    /// <summary>Where the shared files live in etcd: P/security/.</summary>
    public static string SecurityPrefix(string prefix) => prefix + "/security/";

    /// <summary>The files shared through etcd: the CA unless the operator gives it, and the secrets key.</summary>
    public IReadOnlyList<string> SharedFiles => OperatorGivesCa
        ? [SecretCipher.KeyFile]
        : [ClusterCa.CertificateFile, ClusterCa.KeyFile, SecretCipher.KeyFile];

    private bool OperatorGivesCa => !string.IsNullOrEmpty(_options.CaCertificate) || !string.IsNullOrEmpty(_options.CaKey);

    private string Directory => _options.DataDirectory;

    /// <summary>
    /// Brings the data directory's files in line with etcd's, or gives etcd this scheduler's when it
    /// has none. Must complete before <see cref="ClusterSecurity"/> and <see cref="SecretCipher"/> are made.
    /// </summary>
    /// <exception cref="InvalidOperationException">etcd holds half of the CA (the certificate without the key or the other way round).</exception>
    /// <exception cref="RpcException">etcd did not answer.</exception>
    /// <exception cref="StorageException">A local file cannot be read or written, or a local key file is damaged.</exception>
    public async Task SynchronizeAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var held = await ReadAsync(cancellationToken);
            CheckCaIsWhole(held);
            var missing = SharedFiles.Where(name => !held.ContainsKey(name)).ToList();

            // What etcd has wins over the local files, also before uploading what it lacks: with
            // secrets.key shared and the CA not yet (or the other way round), the halves stay consistent.
            foreach (var (name, content) in held)
            {
                WriteLocal(name, content);
            }

            if (missing.Count == 0)
            {
                return;
            }

            MakeLocal();
            if (await CreateAsync(missing, cancellationToken))
            {
                LogUploaded(_log, string.Join(", ", missing), _prefix);
                return;
            }

            // Another scheduler created them between our read and our transaction: take its.
            if (attempt == Attempts)
            {
                throw new InvalidOperationException($"the shared security material under {_prefix} kept changing while this scheduler tried to take it ({Attempts} attempts)");
            }
        }
    }

    private async Task<Dictionary<string, ByteString>> ReadAsync(CancellationToken cancellationToken)
    {
        var response = await _etcd.GetRangeAsync(_prefix, cancellationToken: cancellationToken);
        var shared = SharedFiles.ToHashSet(StringComparer.Ordinal);
        return response.Kvs
            .Select(kv => (Name: kv.Key.ToStringUtf8()[_prefix.Length..], kv.Value))
            .Where(item => shared.Contains(item.Name))
            .ToDictionary(item => item.Name, item => item.Value, StringComparer.Ordinal);
    }

    private void CheckCaIsWhole(Dictionary<string, ByteString> held)
    {
        if (!OperatorGivesCa && held.ContainsKey(ClusterCa.CertificateFile) != held.ContainsKey(ClusterCa.KeyFile))
        {
            var (present, absent) = held.ContainsKey(ClusterCa.CertificateFile)
                ? (ClusterCa.CertificateFile, ClusterCa.KeyFile)
                : (ClusterCa.KeyFile, ClusterCa.CertificateFile);
            throw new InvalidOperationException(
                $"etcd holds {_prefix}{present} but not {_prefix}{absent}; the cluster CA there is incomplete: put back both from a scheduler's data directory, or delete both to share this one's");
        }
    }

    /// <summary>Loads or makes the files as a single scheduler does; what is loaded here is loaded again, as it is, by the real owners.</summary>
    private void MakeLocal()
    {
        if (!OperatorGivesCa)
        {
            ClusterCa.LoadOrCreate(Directory, null, null, _time.GetUtcNow()).Dispose();
        }

        SecretCipher.LoadOrCreate(Directory).Dispose();
    }

    /// <summary>One transaction: if none of <paramref name="names"/> exists yet, create them all from the local files.</summary>
    private async Task<bool> CreateAsync(IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        var request = new TxnRequest();
        foreach (var name in names)
        {
            var key = ByteString.CopyFromUtf8(_prefix + name);
            request.Compare.Add(new Compare
            {
                Key = key,
                Target = Compare.Types.CompareTarget.Create,
                Result = Compare.Types.CompareResult.Equal,
                CreateRevision = 0,
            });
            request.Success.Add(new RequestOp
            {
                RequestPut = new PutRequest { Key = key, Value = ByteString.CopyFrom(ReadLocal(name)) },
            });
        }

        var response = await _etcd.TransactionAsync(request, cancellationToken: cancellationToken);
        return response.Succeeded;
    }

    private byte[] ReadLocal(string name)
    {
        var path = Path.Combine(Directory, name);
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StorageException($"cannot read {path} to share it through etcd: {e.Message}", e);
        }
    }

    private void WriteLocal(string name, ByteString content)
    {
        var path = Path.Combine(Directory, name);
        var exists = File.Exists(path);
        try
        {
            if (exists && content.Span.SequenceEqual(File.ReadAllBytes(path)))
            {
                return;
            }

            var text = Encoding.UTF8.GetString(content.Span);
            if (name == ClusterCa.CertificateFile)
            {
                SecretFiles.WritePublic(path, text);
            }
            else
            {
                SecretFiles.Write(path, text);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StorageException($"cannot write {path} from etcd's {_prefix}{name}: {e.Message}", e);
        }

        if (exists)
        {
            LogReplaced(_log, path, _prefix + name);
        }
        else
        {
            LogDownloaded(_log, path, _prefix + name);
        }
    }

    [LoggerMessage(LogEvents.SecurityMaterialDownloaded, LogLevel.Information, "Wrote {Path} from etcd's {Key} (shared by the schedulers)")]
    private static partial void LogDownloaded(ILogger logger, string path, string key);

    [LoggerMessage(LogEvents.SecurityMaterialUploaded, LogLevel.Information, "Shared {Names} through etcd under {Prefix} (the first scheduler to do so)")]
    private static partial void LogUploaded(ILogger logger, string names, string prefix);

    [LoggerMessage(LogEvents.SecurityMaterialReplaced, LogLevel.Warning, "Replaced {Path} with etcd's {Key}: the schedulers share one; the local file differed")]
    private static partial void LogReplaced(ILogger logger, string path, string key);
}
