using System.Text;
using System.Text.Json;
using Google.Protobuf;

namespace Orchestrator.Scheduler.Storage.Etcd;

/// <summary>
/// Where everything of one cluster of ours lives in etcd's key space, under the prefix P
/// (Scheduler:Etcd:Prefix): P/meta says what the prefix holds, P/version counts the commits (ASCII
/// decimal), P/t/&lt;table&gt;/&lt;key&gt; holds each record as StoreJson writes it (keys may contain '/'),
/// P/leader is the election's name (its keys are P/leader/&lt;lease id hex&gt;) and P/security/&lt;name&gt;
/// the shared security material. One class knows the layout, so the store, the watch and the election
/// cannot disagree on it.
/// </summary>
internal sealed class EtcdKeys
{
    /// <summary>What P/meta says: this prefix holds a scheduler's state, in this layout.</summary>
    public const string MetaKind = "orchestrator-scheduler-state";

    public const int MetaSchema = 1;

    private readonly string _tables;

    /// <exception cref="ArgumentException">The prefix does not start with "/" or ends with one, naming Scheduler:Etcd:Prefix.</exception>
    public EtcdKeys(string prefix)
    {
        if (string.IsNullOrEmpty(prefix) || prefix[0] != '/' || prefix.EndsWith('/'))
        {
            throw new ArgumentException($"Scheduler:Etcd:Prefix must start with \"/\" and not end with one (as /orchestrator/default), not \"{prefix}\"", nameof(prefix));
        }

        Prefix = prefix;
        _tables = prefix + "/t/";
        Meta = Utf8(prefix + "/meta");
        Version = Utf8(prefix + "/version");
        RangeStart = Utf8(prefix + "/");
        RangeEnd = Utf8(prefix + "0"); // '0' follows '/': every key that starts with P/ sorts before it
        LeaderElection = prefix + "/leader";
    }

    public string Prefix { get; }

    public ByteString Meta { get; }

    public ByteString Version { get; }

    /// <summary>The range [RangeStart, RangeEnd) is every key under P/ and nothing else.</summary>
    public ByteString RangeStart { get; }

    public ByteString RangeEnd { get; }

    /// <summary>The election's name: the leader's key is P/leader/&lt;lease id hex&gt;.</summary>
    public string LeaderElection { get; }

    /// <summary>P/meta's value.</summary>
    public static ByteString MetaValue { get; } = Utf8($"{{\"kind\":\"{MetaKind}\",\"schema\":{MetaSchema}}}");

    public ByteString Table(StoreTable table, string key) => Utf8(_tables + table.Name + "/" + key);

    public static ByteString VersionValue(long version) => Utf8(version.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <exception cref="StorageException">The value is not a version.</exception>
    public long ParseVersion(ByteString value) =>
        long.TryParse(value.ToStringUtf8(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version) && version >= 0
            ? version
            : throw new StorageException($"{Prefix}/version holds \"{Shorten(value.ToStringUtf8())}\", not a version number: the prefix was written by something else");

    /// <summary>What a key under P/ is; <see cref="EtcdKeyKind.Other"/> for what this layout does not name.</summary>
    public EtcdKeyKind Classify(ByteString key)
    {
        if (key.Equals(Meta))
        {
            return EtcdKeyKind.Meta;
        }

        if (key.Equals(Version))
        {
            return EtcdKeyKind.Version;
        }

        var text = key.ToStringUtf8();
        if (text.StartsWith(_tables, StringComparison.Ordinal))
        {
            return EtcdKeyKind.Table;
        }

        if (text.StartsWith(LeaderElection + "/", StringComparison.Ordinal))
        {
            return EtcdKeyKind.Leader;
        }

        return text.StartsWith(Prefix + "/security/", StringComparison.Ordinal) ? EtcdKeyKind.Security : EtcdKeyKind.Other;
    }

    /// <summary>The table and record key of P/t/&lt;table&gt;/&lt;key&gt; (the record key may contain '/').</summary>
    /// <exception cref="StorageException">Not a table key, or a table this scheduler does not know.</exception>
    public (StoreTable Table, string Key) ParseTableKey(ByteString key)
    {
        var text = key.ToStringUtf8();
        var slash = text.StartsWith(_tables, StringComparison.Ordinal) ? text.IndexOf('/', _tables.Length) : -1;
        if (slash < 0)
        {
            throw new StorageException($"{text} is not a record key ({_tables}<table>/<key>)");
        }

        var name = text[_tables.Length..slash];
        if (StoreTables.All.FirstOrDefault(t => t.Name == name) is not { } table)
        {
            throw new StorageException($"{text} is in a table this scheduler does not know, \"{name}\": it was written by a newer version or by something else");
        }

        return (table, text[(slash + 1)..]);
    }

    /// <summary>Reads a record stored under a table key.</summary>
    /// <exception cref="StorageException">The value is not a record of its table.</exception>
    public object ReadRecord(StoreTable table, string key, ByteString value)
    {
        try
        {
            var record = table.Read(value.ToStringUtf8(), key);
            return table.KeyOf(record) == key
                ? record
                : throw new StorageException($"the record under {_tables}{table.Name}/{key} has the key {table.KeyOf(record)}");
        }
        catch (JsonException e)
        {
            throw new StorageException($"the record under {_tables}{table.Name}/{key} is not a {table.RecordType.Name}: {e.Message}", e);
        }
    }

    /// <summary>Whether P/meta's value says this is a scheduler state of our schema; otherwise why not.</summary>
    public string? ForeignMeta(ByteString value)
    {
        try
        {
            using var document = JsonDocument.Parse(value.Memory);
            var root = document.RootElement;
            var kind = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("kind", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
            var schema = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("schema", out var s) && s.TryGetInt32(out var n) ? n : (int?)null;
            if (kind != MetaKind)
            {
                return $"its {Prefix}/meta says it holds \"{kind ?? "(no kind)"}\", not {MetaKind}";
            }

            return schema == MetaSchema ? null : $"its {Prefix}/meta says schema {schema?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none)"}, and this scheduler reads schema {MetaSchema}";
        }
        catch (JsonException)
        {
            return $"its {Prefix}/meta is not JSON: \"{Shorten(value.ToStringUtf8())}\"";
        }
    }

    private static ByteString Utf8(string text) => ByteString.CopyFrom(Encoding.UTF8.GetBytes(text));

    private static string Shorten(string text) => text.Length <= 64 ? text : text[..64] + "…";
}

internal enum EtcdKeyKind
{
    Meta,
    Version,
    Table,
    Leader,
    Security,
    Other,
}
