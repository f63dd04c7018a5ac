using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.State;

/// <summary>Who is calling the public API: the token's id, name and role, and a signal of its revocation.</summary>
internal sealed record ApiCaller(string TokenId, string Name, ApiRole Role, CancellationToken Revoked);

/// <summary>
/// API tokens, the join token and node identities. Only hashes of secrets are held here and in the
/// store; the secrets themselves are made and handed out by the security layer.
/// </summary>
internal sealed partial class ClusterState
{
    private readonly Dictionary<string, ApiTokenRecord> _tokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ApiTokenRecord> _tokensByHash = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CancellationTokenSource> _revocations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeIdentityRecord> _identities = new(StringComparer.Ordinal);
    private JoinTokenRecord? _joinToken;

    /// <summary>The caller of a bearer token's hash, or null when no live token has it.</summary>
    public ApiCaller? Authenticate(string secretHash)
    {
        lock (_gate)
        {
            return _tokensByHash.TryGetValue(secretHash, out var token) && token.RevokedAt is null
                ? new ApiCaller(token.Id, token.Name, token.Role, RevocationOf(token.Id).Token)
                : null;
        }
    }

    public bool HasTokens
    {
        get
        {
            lock (_gate)
            {
                return _tokens.Count > 0;
            }
        }
    }

    public ApiTokenRecord CreateToken(string id, string name, ApiRole role, string secretHash)
    {
        lock (_gate)
        {
            var batch = new WriteBatch();
            batch.Tokens.Add(new ApiTokenRecord(id, name, role, secretHash, Now));
            Commit(batch);
            return _tokens[id];
        }
    }

    public IReadOnlyList<ApiTokenRecord> ListTokens()
    {
        lock (_gate)
        {
            return [.. _tokens.Values.OrderBy(t => t.CreatedAt).ThenBy(t => t.Id, StringComparer.Ordinal)];
        }
    }

    /// <summary>Revokes a token: calls with it are refused from now on, and its open streams end.</summary>
    public ApiTokenRecord RevokeToken(string id)
    {
        lock (_gate)
        {
            if (!_tokens.TryGetValue(id, out var token))
            {
                throw RequestException.NotFound("tokenId", $"token \"{Echo.Clip(id)}\" does not exist");
            }

            if (token.RevokedAt is null)
            {
                var batch = new WriteBatch();
                batch.Tokens.Add(token with { RevokedAt = Now });
                Commit(batch);
                RevocationOf(id).Cancel();
            }

            return _tokens[id];
        }
    }

    /// <summary>Whether the join token's secret has this hash. No join token yet: nothing joins.</summary>
    public bool JoinTokenMatches(string secretHash)
    {
        lock (_gate)
        {
            return _joinToken is { } current && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.ASCII.GetBytes(current.SecretHash), System.Text.Encoding.ASCII.GetBytes(secretHash));
        }
    }

    public bool HasJoinToken
    {
        get
        {
            lock (_gate)
            {
                return _joinToken is not null;
            }
        }
    }

    /// <summary>Replaces the join token: the old one no longer joins; nodes that joined keep their certificates.</summary>
    public void SetJoinToken(string secretHash)
    {
        lock (_gate)
        {
            var batch = new WriteBatch();
            batch.JoinTokens.Add(new JoinTokenRecord(secretHash, Now));
            Commit(batch);
        }
    }

    public NodeIdentityRecord? IdentityOf(string cluster, string node)
    {
        lock (_gate)
        {
            return _identities.GetValueOrDefault(NodeRecord.KeyOf(cluster, node));
        }
    }

    /// <summary>Throws ALREADY_EXISTS when a node of that name holds a live certificate and its agent is connected.</summary>
    public void RequireJoinable(string cluster, string node)
    {
        lock (_gate)
        {
            RequireCluster(cluster, "cluster");
            var key = NodeRecord.KeyOf(cluster, node);
            if (_identities.TryGetValue(key, out var identity) && !identity.Revoked
                && _nodes.TryGetValue(key, out var entry) && entry.Record.Status != NodeState.Inactive && entry.Connected)
            {
                throw RequestException.Exists("nodeName", $"node \"{node}\" of cluster \"{cluster}\" has joined already and its agent is connected; deregister it first to join under this name again");
            }
        }
    }

    /// <summary>
    /// Records that a node joined (or joined again) with the certificate of this serial: only it counts
    /// from now on, and a revoked identity is restored. Refused while the name is taken (see
    /// <see cref="RequireJoinable"/>).
    /// </summary>
    public void RecordJoin(string cluster, string node, string serial)
    {
        lock (_gate)
        {
            RequireJoinable(cluster, node);
            var key = NodeRecord.KeyOf(cluster, node);
            var batch = new WriteBatch();
            batch.NodeIdentities.Add(new NodeIdentityRecord(cluster, node, serial));
            var record = _nodes.GetValueOrDefault(key)?.Record;
            if (record?.Status == NodeState.Inactive)
            {
                // Joining again with a valid token is the deliberate act that takes a deregistered node back.
                batch.Nodes.Add(record with { Status = NodeState.Active });
            }

            Commit(batch);
        }
    }

    /// <summary>A renewal: the new certificate becomes current, the old one stays good until it expires.</summary>
    public void RecordRenewal(string cluster, string node, string serial)
    {
        lock (_gate)
        {
            var identity = _identities.GetValueOrDefault(NodeRecord.KeyOf(cluster, node))
                ?? throw RequestException.Precondition("certificate", $"node \"{node}\" has not joined");
            var batch = new WriteBatch();
            batch.NodeIdentities.Add(identity with { Serial = serial, PreviousSerial = identity.Serial });
            Commit(batch);
        }
    }

    private void ApplySecurity(WriteBatch batch)
    {
        foreach (var token in batch.Tokens)
        {
            if (_tokens.TryGetValue(token.Id, out var old))
            {
                _tokensByHash.Remove(old.SecretHash);
            }

            _tokens[token.Id] = token;
            _tokensByHash[token.SecretHash] = token;
        }

        foreach (var join in batch.JoinTokens)
        {
            _joinToken = join;
        }

        foreach (var identity in batch.NodeIdentities)
        {
            _identities[identity.Key] = identity;
        }
    }

    private CancellationTokenSource RevocationOf(string tokenId)
    {
        if (!_revocations.TryGetValue(tokenId, out var revocation))
        {
            _revocations[tokenId] = revocation = new CancellationTokenSource();
        }

        return revocation;
    }
}
