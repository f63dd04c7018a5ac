using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Agent.Runtime.Containerd.Cni;

/// <summary>
/// What was set up for one container, kept on disk before the first plugin runs and completed after
/// each one, so a restarted (or crashed) agent can run DEL with the same configurations and results.
/// </summary>
/// <param name="Mode">"bridge" or "none".</param>
/// <param name="NetworkNamespace">The name given to `ip netns`.</param>
/// <param name="Attachments">The networks in the order they were added (loopback first).</param>
internal sealed record CniState(
    string ContainerId,
    string Mode,
    string NetworkNamespace,
    string NetworkNamespacePath,
    IReadOnlyList<PortSpec> Ports,
    IReadOnlyList<CniAttachment> Attachments);

/// <summary>One network configuration list run in the namespace.</summary>
/// <param name="Plugins">Each plugin's configuration, without prevResult.</param>
/// <param name="Added">How many of <paramref name="Plugins"/> ADD has succeeded for.</param>
/// <param name="Result">The result of the last plugin added (DEL's prevResult); null before the first.</param>
internal sealed record CniAttachment(IReadOnlyList<JsonObject> Plugins, int Added, JsonObject? Result);

/// <summary>The <see cref="CniState"/> files: &lt;directory&gt;/&lt;container id&gt;.json, written atomically.</summary>
internal sealed class CniStateStore(string directory)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public string Directory { get; } = directory;

    public void Save(CniState state)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = PathOf(state.ContainerId);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(state, Json));
        File.Move(temporary, path, overwrite: true);
    }

    public CniState? Load(string containerId)
    {
        var path = PathOf(containerId);
        return File.Exists(path) ? JsonSerializer.Deserialize<CniState>(File.ReadAllText(path), Json) : null;
    }

    public void Delete(string containerId) => File.Delete(PathOf(containerId));

    /// <summary>The containers with a state file.</summary>
    public IReadOnlyList<string> List() =>
        System.IO.Directory.Exists(Directory)
            ? System.IO.Directory.EnumerateFiles(Directory, "*.json").Select(p => Path.GetFileNameWithoutExtension(p)).Order(StringComparer.Ordinal).ToList()
            : [];

    /// <summary>Every state on disk but <paramref name="except"/>'s; one that cannot be read is skipped (it publishes nothing we know of).</summary>
    public IEnumerable<CniState> LoadAll(string? except = null)
    {
        foreach (var id in List())
        {
            if (id == except)
            {
                continue;
            }
            CniState? state;
            try
            {
                state = Load(id);
            }
            catch (Exception ex) when (ex is JsonException or IOException)
            {
                continue;
            }
            if (state is not null)
            {
                yield return state;
            }
        }
    }

    private string PathOf(string containerId)
    {
        // Container ids are the agent's names ([a-z0-9-]); anything else would escape the directory.
        if (containerId.Length == 0 || containerId.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')) || containerId.StartsWith('.'))
        {
            throw new ArgumentException($"not a container id: {containerId}", nameof(containerId));
        }
        return Path.Combine(Directory, containerId + ".json");
    }
}
