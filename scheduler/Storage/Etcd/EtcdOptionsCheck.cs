using System.Net;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Storage.Etcd;

/// <summary>The problems of Scheduler:Store and, with "etcd", of Scheduler:Etcd:* and Scheduler:AdvertiseAddress: each names its setting.</summary>
internal static class EtcdOptionsCheck
{
    public static IEnumerable<string> Problems(SchedulerOptions options)
    {
        if (!string.Equals(options.Store, StoreKinds.LiteDb, StringComparison.OrdinalIgnoreCase) && !options.UsesEtcd)
        {
            yield return $"Scheduler:Store must be \"{StoreKinds.LiteDb}\" or \"{StoreKinds.Etcd}\", not \"{options.Store}\"";
            yield break;
        }

        if (!options.UsesEtcd)
        {
            yield break;
        }

        var etcd = options.Etcd;
        var endpoints = etcd.Endpoints.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (endpoints.Length == 0)
        {
            yield return "Scheduler:Etcd:Endpoints must name at least one etcd member, e.g. \"http://10.0.0.1:2379,http://10.0.0.2:2379\"";
        }

        foreach (var endpoint in endpoints)
        {
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.IsDefaultPort || uri.AbsolutePath != "/")
            {
                yield return $"Scheduler:Etcd:Endpoints: \"{endpoint}\" is not an etcd client URL like http://10.0.0.1:2379 or https://etcd1:2379";
            }
            else if (uri.UserInfo.Length > 0)
            {
                // Never echoed: the endpoints appear in error messages, and this part would be a password.
                yield return "Scheduler:Etcd:Endpoints: a user and password do not go in the URL (they would show in every message that names the endpoints); use Scheduler:Etcd:ClientCertificate and ClientKey";
            }
        }

        if (etcd.Prefix.Length < 2 || etcd.Prefix[0] != '/' || etcd.Prefix[^1] == '/' || etcd.Prefix.Any(char.IsWhiteSpace))
        {
            yield return $"Scheduler:Etcd:Prefix must start with \"/\", not end with one and hold no spaces, like \"/orchestrator/prod\"; not \"{etcd.Prefix}\"";
        }

        if (etcd.LeaseTtl < TimeSpan.FromSeconds(2) || etcd.LeaseTtl > TimeSpan.FromMinutes(5) || etcd.LeaseTtl.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            yield return $"Scheduler:Etcd:LeaseTtl must be whole seconds from 00:00:02 to 00:05:00 (etcd leases count in seconds), not {etcd.LeaseTtl}";
        }

        if (etcd.StartTimeout <= TimeSpan.Zero)
        {
            yield return $"Scheduler:Etcd:StartTimeout must be more than 0, not {etcd.StartTimeout}";
        }

        if (string.IsNullOrEmpty(etcd.ClientCertificate) != string.IsNullOrEmpty(etcd.ClientKey))
        {
            yield return "Scheduler:Etcd:ClientCertificate and Scheduler:Etcd:ClientKey go together: set both or neither";
        }

        foreach (var (setting, path) in new[] { ("CaCertificate", etcd.CaCertificate), ("ClientCertificate", etcd.ClientCertificate), ("ClientKey", etcd.ClientKey) })
        {
            if (!string.IsNullOrEmpty(path) && !File.Exists(path))
            {
                yield return $"Scheduler:Etcd:{setting}: no file \"{path}\"";
            }
        }

        if (etcd.MaxTxnOps < 8)
        {
            yield return $"Scheduler:Etcd:MaxTxnOps must be at least 8 (etcd's --max-txn-ops, 128 by default), not {etcd.MaxTxnOps}";
        }

        if (etcd.MaxRequestBytes < 64 * 1024)
        {
            yield return $"Scheduler:Etcd:MaxRequestBytes must be at least 65536 (etcd's --max-request-bytes, 1572864 by default), not {etcd.MaxRequestBytes}";
        }

        if (AdvertiseProblem(options) is { } problem)
        {
            yield return problem;
        }
    }

    private static string? AdvertiseProblem(SchedulerOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.AdvertiseAddress))
        {
            IPEndPoint listen;
            try
            {
                listen = ListenAddress.Parse(options.Listen);
            }
            catch (FormatException)
            {
                return null; // Program reports Scheduler:Listen itself.
            }

            return listen.Address.Equals(IPAddress.Any) || listen.Address.Equals(IPAddress.IPv6Any)
                ? $"Scheduler:AdvertiseAddress is needed with Scheduler:Store=etcd when Scheduler:Listen is a wildcard ({options.Listen}): the host:port the other schedulers and the agents reach this one at"
                : null;
        }

        var value = options.AdvertiseAddress.Trim();
        var colon = value.LastIndexOf(':');
        return colon <= 0 || !int.TryParse(value[(colon + 1)..], out var port) || port is < 1 or > 65535 || value[..colon].Any(char.IsWhiteSpace)
            ? $"Scheduler:AdvertiseAddress must be host:port, like 10.0.0.1:7400 or sched1.example:7400, not \"{options.AdvertiseAddress}\""
            : null;
    }
}
