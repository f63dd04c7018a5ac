using System.Text.Json;
using System.Text.RegularExpressions;

namespace Orchestrator.Agent.Runtime.Containerd;

/// <summary>
/// Named volumes for a runtime that has none (containerd): directories under the agent's own data
/// directory (&lt;name&gt;/_data, as Docker's and nerdctl's local volumes), their labels kept beside them
/// in &lt;name&gt;/labels.json. Only the "local" driver without options.
/// </summary>
internal sealed partial class LocalVolumes(string directory)
{
    private const string LabelsFile = "labels.json";

    public string Directory { get; } = directory;

    /// <summary>The host directory of a volume (it need not exist yet).</summary>
    /// <exception cref="ContainerOperationException">A name Docker would refuse (it could also leave the directory).</exception>
    public string PathOf(string name) => Path.Combine(VolumeDirectory(name), "_data");

    /// <summary>Creating one that exists changes nothing, its labels included (as Docker).</summary>
    /// <exception cref="ContainerOperationException">A driver other than local, or driver options.</exception>
    public async Task CreateAsync(VolumeSpec spec, CancellationToken cancellation)
    {
        if (spec.Driver is not ("" or "local"))
        {
            throw new ContainerOperationException($"CannotCreateVolumeError: volume driver {spec.Driver} is not supported by the containerd runtime");
        }

        if (spec.DriverOptions.Count > 0)
        {
            throw new ContainerOperationException($"CannotCreateVolumeError: volume driver options ({string.Join(", ", spec.DriverOptions.Keys.Order(StringComparer.Ordinal))}) are not supported by the containerd runtime");
        }

        var volume = VolumeDirectory(spec.Name);
        var labels = Path.Combine(volume, LabelsFile);
        if (File.Exists(labels))
        {
            System.IO.Directory.CreateDirectory(Path.Combine(volume, "_data"));
            return;
        }

        System.IO.Directory.CreateDirectory(Path.Combine(volume, "_data"));

        // Written aside then renamed: a crash never leaves a half file that List would stumble on.
        var temporary = labels + ".tmp";
        await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(spec.Labels), cancellation);
        File.Move(temporary, labels, overwrite: true);
    }

    public Task<bool> ExistsAsync(string name, CancellationToken cancellation) =>
        Task.FromResult(System.IO.Directory.Exists(PathOf(name)));

    /// <summary>
    /// Removing a missing one is fine. Whether a running container still mounts it cannot be told
    /// cheaply here (the caller removes tasks' containers first), so it is just removed.
    /// </summary>
    public Task RemoveAsync(string name, CancellationToken cancellation)
    {
        var volume = VolumeDirectory(name);
        if (!System.IO.Directory.Exists(volume))
        {
            return Task.CompletedTask;
        }

        // Renamed first (a dot name, which List skips): a removal cut short leaves no half volume behind that looks whole.
        var doomed = Path.Combine(Directory, $".removing-{name}-{Guid.NewGuid():N}");
        System.IO.Directory.Move(volume, doomed);
        System.IO.Directory.Delete(doomed, recursive: true);
        return Task.CompletedTask;
    }

    public async Task<IReadOnlyList<LabelledResource>> ListAsync(string labelKey, string labelValue, CancellationToken cancellation)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return [];
        }

        var volumes = new List<LabelledResource>();
        foreach (var volume in System.IO.Directory.EnumerateDirectories(Directory).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(volume);
            if (!ValidName().IsMatch(name))
            {
                continue;
            }

            var labels = await ReadLabelsAsync(Path.Combine(volume, LabelsFile), cancellation);
            if (labels is not null && labels.TryGetValue(labelKey, out var value) && value == labelValue)
            {
                volumes.Add(new LabelledResource(name, labels));
            }
        }

        return volumes;
    }

    private static async Task<Dictionary<string, string>?> ReadLabelsAsync(string path, CancellationToken cancellation)
    {
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, string>>(await File.ReadAllTextAsync(path, cancellation));
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            // Not (or not yet) one of ours.
            return null;
        }
    }

    private string VolumeDirectory(string name) =>
        ValidName().IsMatch(name)
            ? Path.Combine(Directory, name)
            : throw new ContainerOperationException($"CannotCreateVolumeError: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed");

    /// <summary>Docker's rule for local volume names; it also keeps a name from leaving <see cref="Directory"/>.</summary>
    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")]
    private static partial Regex ValidName();
}
