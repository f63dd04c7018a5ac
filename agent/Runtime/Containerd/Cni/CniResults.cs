using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Agent.Runtime.Containerd.Cni;

/// <summary>Reading what the CNI plugins print: results (spec 0.4 / 1.0) and errors ({code, msg, details}).</summary>
internal static class CniResults
{
    /// <summary>The container's IPv4 address: of the interface in the namespace (with a "sandbox"), else the first.</summary>
    public static IPAddress? ContainerAddress(JsonObject? result)
    {
        if (result?["ips"] is not JsonArray ips)
        {
            return null;
        }
        var interfaces = result["interfaces"] as JsonArray;
        IPAddress? first = null;
        foreach (var ip in ips.OfType<JsonObject>())
        {
            if (ip["address"]?.GetValue<string>() is not { } cidr || !IPNetwork.TryParse(cidr, out var network)
                || network.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
            {
                continue;
            }
            // IPNetwork normalises to the network's base address; the host's address is the text before '/'.
            var address = IPAddress.Parse(cidr[..cidr.IndexOf('/', StringComparison.Ordinal)]);
            first ??= address;
            if (ip["interface"] is JsonValue index && index.TryGetValue<int>(out var i) && interfaces is not null
                && i >= 0 && i < interfaces.Count && interfaces[i]?["sandbox"] is not null)
            {
                return address;
            }
        }
        return first;
    }

    /// <summary>A plugin's failure as one line: its msg and details, else what it wrote to stderr, else its exit code.</summary>
    public static string ErrorMessage(string stdout, string stderr, int exitCode)
    {
        try
        {
            if (JsonNode.Parse(stdout) is JsonObject error && error["msg"]?.GetValue<string>() is { Length: > 0 } msg)
            {
                var details = error["details"]?.GetValue<string>();
                return string.IsNullOrEmpty(details) ? msg : $"{msg}: {details}";
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Not the spec's error object: fall back to what it said on stderr.
        }
        var text = (string.IsNullOrWhiteSpace(stderr) ? stdout : stderr).Trim();
        return text.Length > 0 ? text : $"exited with code {exitCode}";
    }

    /// <summary>The versions a plugin answers CNI_COMMAND=VERSION with.</summary>
    public static IReadOnlyList<string> SupportedVersions(string stdout)
    {
        try
        {
            return JsonNode.Parse(stdout)?["supportedVersions"] is JsonArray versions
                ? versions.Select(v => v?.GetValue<string>()).OfType<string>().ToList()
                : [];
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return [];
        }
    }
}
