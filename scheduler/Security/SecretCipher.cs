using System.Security.Cryptography;
using System.Text;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.Security;

/// <summary>
/// Seals and opens secret values with AES-256-GCM (.NET's <see cref="AesGcm"/>): a fresh random 12-byte
/// nonce per value, a 16-byte tag, and the secret's name and version as associated data, so a sealed
/// value opens only as the record it was sealed for. The key is 32 random bytes in
/// <c>secrets.key</c> of the data directory (owner-only, made on the first start, as the CA's key is);
/// neither the key nor the file's content is ever logged or put in a message.
/// </summary>
internal sealed class SecretCipher : IDisposable
{
    public const string KeyFile = "secrets.key";

    private const int KeyBytes = 32;
    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    private readonly byte[] _key;
    private bool _disposed;

    private SecretCipher(byte[] key)
    {
        _key = key;

        // A digest of the key under a fixed label: names the key in each sealed record without telling
        // anything of it (HMAC with the key as its key).
        KeyId = Convert.ToHexStringLower(HMACSHA256.HashData(key, "orchestrator secrets key id"u8)[..8]);
    }

    /// <summary>Names the key, so that a value sealed with another one is told apart from a damaged one.</summary>
    public string KeyId { get; }

    /// <summary>
    /// The key of the data directory, made there (mode 0600) when there is none. A key file that cannot
    /// be read is an error, never replaced: a silently new key would make every stored secret unusable.
    /// </summary>
    /// <exception cref="StorageException">The key file exists but is not a key, or cannot be read or written.</exception>
    public static SecretCipher LoadOrCreate(string directory)
    {
        var path = Path.Combine(directory, KeyFile);
        try
        {
            if (!File.Exists(path))
            {
                var key = RandomNumberGenerator.GetBytes(KeyBytes);
                SecretFiles.Write(path, Convert.ToBase64String(key) + "\n");
                return new SecretCipher(key);
            }

            byte[] read;
            try
            {
                read = Convert.FromBase64String(File.ReadAllText(path).Trim());
            }
            catch (FormatException)
            {
                // The content is not echoed: it may be a key after all, damaged.
                throw new StorageException($"the secrets key {path} is not a base64 key; restore it from a backup (a new key cannot open the stored secrets)");
            }

            return read.Length == KeyBytes
                ? new SecretCipher(read)
                : throw new StorageException($"the secrets key {path} holds {read.Length} bytes, not {KeyBytes}; restore it from a backup (a new key cannot open the stored secrets)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StorageException($"cannot read or create the secrets key {path}: {e.Message}", e);
        }
    }

    /// <summary>A key that lives as long as the process: for a state kept in memory (tests).</summary>
    public static SecretCipher Ephemeral() => new(RandomNumberGenerator.GetBytes(KeyBytes));

    /// <summary>A cipher with this key (32 bytes); for tests that need two ciphers with known keys.</summary>
    internal static SecretCipher WithKey(byte[] key) =>
        key.Length == KeyBytes ? new SecretCipher([.. key]) : throw new ArgumentException($"a key is {KeyBytes} bytes", nameof(key));

    /// <summary>nonce ‖ ciphertext ‖ tag of the value, bound to the secret's name and version.</summary>
    public byte[] Seal(ReadOnlySpan<byte> plaintext, string name, int version)
    {
        var sealedValue = new byte[NonceBytes + plaintext.Length + TagBytes];
        var nonce = sealedValue.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = NewAes();
        aes.Encrypt(nonce, plaintext, sealedValue.AsSpan(NonceBytes, plaintext.Length), sealedValue.AsSpan(NonceBytes + plaintext.Length), AssociatedData(name, version));
        return sealedValue;
    }

    /// <summary>The value sealed for this name and version.</summary>
    /// <exception cref="CryptographicException">It was sealed with another key or for another record, or altered.</exception>
    public byte[] Open(ReadOnlySpan<byte> sealedValue, string name, int version)
    {
        if (sealedValue.Length < NonceBytes + TagBytes)
        {
            throw new CryptographicException("the sealed value is too short to be one");
        }

        var plaintext = new byte[sealedValue.Length - NonceBytes - TagBytes];
        using var aes = NewAes();
        aes.Decrypt(sealedValue[..NonceBytes], sealedValue.Slice(NonceBytes, plaintext.Length), sealedValue[^TagBytes..], plaintext, AssociatedData(name, version));
        return plaintext;
    }

    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_key);
    }

    // Refused once disposed: a zeroed key would seal values that no later start could open.
    private AesGcm NewAes()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new AesGcm(_key, TagBytes);
    }

    // A label, the name and the version, NUL-separated: a name never holds a NUL, so no two records share it.
    private static byte[] AssociatedData(string name, int version) =>
        Encoding.UTF8.GetBytes($"orchestrator.v1.secret\0{name}\0{version.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
}
