using dotnet_etcd;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Scheduler.HA;
using Orchestrator.Scheduler.Security;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;
using Orchestrator.Tests.Shared;

namespace Orchestrator.Scheduler.Tests.HA;

/// <summary>The schedulers of one prefix share the cluster CA and the secrets key through a real etcd.</summary>
internal sealed class SharedSecurityMaterialTests
{
    private static readonly string[] AllFiles = [ClusterCa.CertificateFile, ClusterCa.KeyFile, SecretCipher.KeyFile];

    private EtcdCluster _cluster = null!;
    private EtcdClient _etcd = null!;
    private readonly List<IDisposable> _cleanup = [];
    private readonly List<string> _directories = [];

    [OneTimeSetUp]
    public async Task StartEtcd()
    {
        _cluster = await EtcdCluster.StartAsync(1);
        _etcd = new EtcdClient(_cluster.Endpoints);
    }

    [OneTimeTearDown]
    public void StopEtcd()
    {
        _etcd.Dispose();
        _cluster.Dispose();
    }

    [TearDown]
    public void RemoveDirectories()
    {
        _cleanup.ForEach(d => d.Dispose());
        _cleanup.Clear();
        _directories.ForEach(d => Directory.Delete(d, recursive: true));
        _directories.Clear();
    }

    [Test]
    public async Task The_first_scheduler_uploads_and_the_second_replaces_its_own_files_with_identical_bytes()
    {
        var prefix = NewPrefix();
        var first = NewScheduler(prefix);
        var second = NewScheduler(prefix);
        // The second had made its own before it joined: they must give way to the cluster's.
        ClusterCa.LoadOrCreate(second.Directory, null, null, DateTimeOffset.UtcNow).Dispose();
        SecretCipher.LoadOrCreate(second.Directory).Dispose();

        await first.Material.SynchronizeAsync(CancellationToken.None);
        var onEtcd = await ReadSharedAsync(prefix);
        await second.Material.SynchronizeAsync(CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(onEtcd.Keys, Is.EquivalentTo(AllFiles));
            foreach (var name in AllFiles)
            {
                Assert.That(File.ReadAllBytes(Path.Combine(first.Directory, name)), Is.EqualTo(onEtcd[name]), $"{name}: the first uploaded its own");
                Assert.That(File.ReadAllBytes(Path.Combine(second.Directory, name)), Is.EqualTo(onEtcd[name]), $"{name}: the second took etcd's");
            }

            if (!OperatingSystem.IsWindows())
            {
                Assert.That(File.GetUnixFileMode(Path.Combine(second.Directory, ClusterCa.KeyFile)), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
                Assert.That(File.GetUnixFileMode(Path.Combine(second.Directory, SecretCipher.KeyFile)), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
                Assert.That(File.GetUnixFileMode(Path.Combine(second.Directory, ClusterCa.CertificateFile)).HasFlag(UnixFileMode.OtherRead), Is.True, "the CA certificate is public");
            }
        });

        // What the real owners load from the two directories is the same CA and the same key.
        using var firstCa = ClusterCa.LoadOrCreate(first.Directory, null, null, DateTimeOffset.UtcNow);
        using var secondCa = ClusterCa.LoadOrCreate(second.Directory, null, null, DateTimeOffset.UtcNow);
        using var firstCipher = SecretCipher.LoadOrCreate(first.Directory);
        using var secondCipher = SecretCipher.LoadOrCreate(second.Directory);
        Assert.Multiple(() =>
        {
            Assert.That(secondCa.Digest, Is.EqualTo(firstCa.Digest));
            Assert.That(secondCipher.KeyId, Is.EqualTo(firstCipher.KeyId));
        });
    }

    [Test]
    public async Task Two_first_starters_racing_end_with_one_CA_and_one_key()
    {
        // Several rounds, each on an empty prefix, so the two transactions do meet.
        for (var round = 0; round < 5; round++)
        {
            var prefix = NewPrefix();
            var one = NewScheduler(prefix);
            var other = NewScheduler(prefix);
            await Task.WhenAll(
                Task.Run(() => one.Material.SynchronizeAsync(CancellationToken.None)),
                Task.Run(() => other.Material.SynchronizeAsync(CancellationToken.None)));

            var onEtcd = await ReadSharedAsync(prefix);
            Assert.Multiple(() =>
            {
                Assert.That(onEtcd.Keys, Is.EquivalentTo(AllFiles), $"round {round}");
                foreach (var name in AllFiles)
                {
                    Assert.That(File.ReadAllBytes(Path.Combine(one.Directory, name)), Is.EqualTo(onEtcd[name]), $"round {round}, {name}");
                    Assert.That(File.ReadAllBytes(Path.Combine(other.Directory, name)), Is.EqualTo(onEtcd[name]), $"round {round}, {name}");
                }
            });
        }
    }

    [Test]
    public async Task With_the_operators_CA_only_the_secrets_key_is_shared()
    {
        var prefix = NewPrefix();
        var given = Directory.CreateTempSubdirectory("orchestrator-operator-ca-").FullName;
        _directories.Add(given);
        ClusterCa.LoadOrCreate(given, null, null, DateTimeOffset.UtcNow).Dispose();
        var first = NewScheduler(prefix, Path.Combine(given, ClusterCa.CertificateFile), Path.Combine(given, ClusterCa.KeyFile));
        var second = NewScheduler(prefix, Path.Combine(given, ClusterCa.CertificateFile), Path.Combine(given, ClusterCa.KeyFile));

        await first.Material.SynchronizeAsync(CancellationToken.None);
        await second.Material.SynchronizeAsync(CancellationToken.None);

        var onEtcd = await ReadSharedAsync(prefix);
        Assert.Multiple(() =>
        {
            Assert.That(onEtcd.Keys, Is.EquivalentTo(new[] { SecretCipher.KeyFile }));
            Assert.That(File.ReadAllBytes(Path.Combine(second.Directory, SecretCipher.KeyFile)), Is.EqualTo(onEtcd[SecretCipher.KeyFile]));
            Assert.That(File.Exists(Path.Combine(first.Directory, ClusterCa.KeyFile)), Is.False, "no CA is made beside the operator's");
        });
    }

    [Test]
    public async Task Half_a_CA_on_etcd_is_refused_naming_the_missing_key()
    {
        var prefix = NewPrefix();
        await _etcd.PutAsync(SharedSecurityMaterial.SecurityPrefix(prefix) + ClusterCa.CertificateFile, "-----BEGIN CERTIFICATE-----");
        var scheduler = NewScheduler(prefix);

        var error = Assert.ThrowsAsync<InvalidOperationException>(() => scheduler.Material.SynchronizeAsync(CancellationToken.None));

        Assert.That(error!.Message, Does.Contain($"not {SharedSecurityMaterial.SecurityPrefix(prefix)}{ClusterCa.KeyFile}"));
        Assert.That(Directory.GetFiles(scheduler.Directory).Select(Path.GetFileName), Does.Not.Contain(ClusterCa.CertificateFile), "nothing written");
    }

    private static string NewPrefix() => "/orchestrator-test/" + Guid.NewGuid().ToString("N");

    private (string Directory, SharedSecurityMaterial Material) NewScheduler(string prefix, string caCertificate = "", string caKey = "")
    {
        var directory = Directory.CreateTempSubdirectory("orchestrator-shared-").FullName;
        _directories.Add(directory);
        var options = new SchedulerOptions { DataPath = Path.Combine(directory, "scheduler.db"), CaCertificate = caCertificate, CaKey = caKey };
        options.Etcd.Prefix = prefix;
        var directoryLock = DataDirectoryLock.Acquire(options.DataPath);
        _cleanup.Add(directoryLock);
        return (directory, new SharedSecurityMaterial(_etcd, options, directoryLock, TimeProvider.System, NullLogger<SharedSecurityMaterial>.Instance));
    }

    private async Task<Dictionary<string, byte[]>> ReadSharedAsync(string prefix)
    {
        var securityPrefix = SharedSecurityMaterial.SecurityPrefix(prefix);
        var response = await _etcd.GetRangeAsync(securityPrefix);
        return response.Kvs.ToDictionary(kv => kv.Key.ToStringUtf8()[securityPrefix.Length..], kv => kv.Value.ToByteArray());
    }
}
