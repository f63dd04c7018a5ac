using System.Security.Cryptography;
using System.Text;
using Orchestrator.Scheduler.Security;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.Tests.Security;

/// <summary>Secret values sealed with AES-GCM: they open only with the key and for the record they were sealed for.</summary>
internal sealed class SecretCipherTests
{
    private static readonly byte[] Value = Encoding.UTF8.GetBytes("correct horse battery staple");

    private string _directory = "";

    [SetUp]
    public void MakeDirectory() => _directory = Directory.CreateTempSubdirectory("orchestrator-secret-key-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    private static SecretCipher Cipher(byte fill = 7) => SecretCipher.WithKey(Enumerable.Repeat(fill, 32).Select((b, i) => (byte)(b + i)).ToArray());

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(28)]
    [TestCase(64 * 1024)]
    public void A_value_opens_as_it_was_sealed(int length)
    {
        using var cipher = Cipher();
        var value = RandomNumberGenerator.GetBytes(length);
        var sealedValue = cipher.Seal(value, "db-password", 3);
        Assert.Multiple(() =>
        {
            Assert.That(sealedValue, Has.Length.EqualTo(12 + length + 16), "nonce, ciphertext, tag");
            Assert.That(cipher.Open(sealedValue, "db-password", 3), Is.EqualTo(value));
        });
    }

    [Test]
    public void Each_seal_has_a_fresh_nonce_so_one_value_never_seals_alike_twice()
    {
        using var cipher = Cipher();
        var first = cipher.Seal(Value, "db", 1);
        var second = cipher.Seal(Value, "db", 1);
        Assert.Multiple(() =>
        {
            Assert.That(first.AsSpan(0, 12).SequenceEqual(second.AsSpan(0, 12)), Is.False, "the nonces differ");
            Assert.That(first, Is.Not.EqualTo(second));
            Assert.That(ContainsSequence(first, Value), Is.False, "the plaintext is nowhere in the sealed bytes");
        });
    }

    /// <summary>Every byte matters: one flipped bit in the nonce, the ciphertext or the tag, and it does not open.</summary>
    [TestCase(0, TestName = "a flipped bit in the nonce")]
    [TestCase(11, TestName = "a flipped bit at the nonce's end")]
    [TestCase(12, TestName = "a flipped bit in the ciphertext")]
    [TestCase(12 + 27, TestName = "a flipped bit at the ciphertext's end")]
    [TestCase(12 + 28, TestName = "a flipped bit in the tag")]
    [TestCase(12 + 28 + 15, TestName = "a flipped bit at the tag's end")]
    public void A_tampered_value_does_not_open(int index)
    {
        using var cipher = Cipher();
        var sealedValue = cipher.Seal(Value, "db", 1);
        sealedValue[index] ^= 0x01;
        Assert.Throws(Is.InstanceOf<CryptographicException>(), () => cipher.Open(sealedValue, "db", 1));
    }

    [Test]
    public void A_truncated_value_does_not_open()
    {
        using var cipher = Cipher();
        var sealedValue = cipher.Seal(Value, "db", 1);
        Assert.Multiple(() =>
        {
            Assert.Throws(Is.InstanceOf<CryptographicException>(), () => cipher.Open(sealedValue.AsSpan(0, sealedValue.Length - 1), "db", 1));
            Assert.Throws(Is.InstanceOf<CryptographicException>(), () => cipher.Open(sealedValue.AsSpan(0, 27), "db", 1));
        });
    }

    /// <summary>The name and version are bound in: a value moved to another record (or version) does not open there.</summary>
    [TestCase("db", 2, TestName = "another version of the same secret")]
    [TestCase("db2", 1, TestName = "another secret's record")]
    [TestCase("Db", 1, TestName = "a name differing in case")]
    [TestCase("db\u00001", 1, TestName = "a name that runs into the version")]
    public void A_value_sealed_for_one_record_does_not_open_as_another(string name, int version)
    {
        using var cipher = Cipher();
        var sealedValue = cipher.Seal(Value, "db", 1);
        Assert.Throws(Is.InstanceOf<CryptographicException>(), () => cipher.Open(sealedValue, name, version));
    }

    [Test]
    public void A_value_does_not_open_with_another_key_whose_id_differs_too()
    {
        using var sealer = Cipher(7);
        using var other = Cipher(8);
        var sealedValue = sealer.Seal(Value, "db", 1);
        Assert.Multiple(() =>
        {
            Assert.Throws(Is.InstanceOf<CryptographicException>(), () => other.Open(sealedValue, "db", 1));
            Assert.That(other.KeyId, Is.Not.EqualTo(sealer.KeyId));
            Assert.That(Cipher(7).KeyId, Is.EqualTo(sealer.KeyId), "the id follows from the key alone");
        });
    }

    [Test]
    public void A_disposed_cipher_seals_and_opens_nothing_rather_than_use_a_zeroed_key()
    {
        var cipher = Cipher();
        var sealedValue = cipher.Seal(Value, "db", 1);
        cipher.Dispose();
        Assert.Multiple(() =>
        {
            Assert.Throws<ObjectDisposedException>(() => cipher.Seal(Value, "db", 2));
            Assert.Throws<ObjectDisposedException>(() => cipher.Open(sealedValue, "db", 1));
        });
    }

    [Test]
    public void The_key_is_made_owner_only_on_the_first_start_and_the_same_key_is_read_back_after()
    {
        byte[] sealedValue;
        string keyId;
        using (var first = SecretCipher.LoadOrCreate(_directory))
        {
            sealedValue = first.Seal(Value, "db", 1);
            keyId = first.KeyId;
        }

        var path = Path.Combine(_directory, SecretCipher.KeyFile);
        using var again = SecretCipher.LoadOrCreate(_directory);
        Assert.Multiple(() =>
        {
            if (!OperatingSystem.IsWindows())
            {
                Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
            }

            Assert.That(Convert.FromBase64String(File.ReadAllText(path).Trim()), Has.Length.EqualTo(32));
            Assert.That(again.KeyId, Is.EqualTo(keyId));
            Assert.That(again.Open(sealedValue, "db", 1), Is.EqualTo(Value));
        });
    }

    /// <summary>A key file that is not a key stops the start, and the message says so without its content.</summary>
    [TestCase("not base64 at all: s3cr3t-content", TestName = "a key file that is not base64")]
    [TestCase("c2hvcnQtc2VjcmV0LWtleQ==", TestName = "a key file of the wrong length")]
    public void A_key_file_that_is_not_a_key_is_refused_never_replaced(string content)
    {
        var path = Path.Combine(_directory, SecretCipher.KeyFile);
        File.WriteAllText(path, content);
        var refused = Assert.Throws<StorageException>(() => SecretCipher.LoadOrCreate(_directory))!;
        Assert.Multiple(() =>
        {
            Assert.That(refused.Message, Does.StartWith($"the secrets key {path} "));
            Assert.That(refused.Message, Does.Contain("restore it from a backup"));
            Assert.That(refused.Message, Does.Not.Contain(content).And.Not.Contain("s3cr3t").And.Not.Contain("short-secret"));
            Assert.That(File.ReadAllText(path), Is.EqualTo(content), "left as it was");
        });
    }

    private static bool ContainsSequence(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
