namespace Orchestrator.Contracts.V1;

/// <summary>
/// What only one container runtime can run. The scheduler keeps a task that needs any of it off nodes of
/// the other runtime (an implicit constraint on the node attribute "runtime", explained by naming the
/// runtime and these features), and the agent refuses it with the same words if it arrives anyway (an
/// older scheduler). Both read it here.
/// </summary>
public static class RuntimeSupport
{
    /// <summary>The node attribute the agent reports its runtime in; a node without it runs Docker (agents before containerd).</summary>
    public const string RuntimeAttribute = "runtime";

    /// <summary>The node attribute with the runtime's version.</summary>
    public const string RuntimeVersionAttribute = "runtime-version";

    public const string Docker = "docker";
    public const string Containerd = "containerd";

    /// <summary>
    /// The log drivers both runtimes have: containerd's shim writes the output to a file the agent
    /// rotates (local and json-file alike) or discards it; journald, syslog and the rest are Docker's.
    /// </summary>
    private static readonly IReadOnlySet<string> PortableLogDrivers = new HashSet<string>(["", "local", "json-file", "none"], StringComparer.Ordinal);

    /// <summary>
    /// Whether both runtimes run this log driver ("" is the node's default, one of these); the
    /// scheduler's placement, the agent's settings check and its containerd runtime all ask here.
    /// </summary>
    public static bool IsPortableLogDriver(string driver) => PortableLogDrivers.Contains(driver);

    /// <summary>
    /// The features of the task definition that only Docker has, each named by its field as the user
    /// wrote it ("networkMode awsvpc", "containerDefinitions[web].links"); empty when it runs on both.
    /// </summary>
    public static IReadOnlyList<string> DockerOnlyFeatures(TaskDefinition definition)
    {
        List<string>? features = null;
        void Add(string feature) => (features ??= []).Add(feature);

        // awsvpc is a Docker network of the task's own with name resolution between its containers;
        // CNI's bridge gives neither.
        if (definition.NetworkMode == "awsvpc")
        {
            Add("networkMode awsvpc");
        }

        foreach (var container in definition.ContainerDefinitions)
        {
            var field = $"containerDefinitions[{container.Name}]";
            if (container.Links.Count > 0)
            {
                Add($"{field}.links");
            }

            if (container.VolumesFrom.Count > 0)
            {
                Add($"{field}.volumesFrom");
            }

            if (container.LogConfiguration is { } log && !IsPortableLogDriver(log.LogDriver))
            {
                Add($"{field}.logConfiguration.logDriver {log.LogDriver}");
            }

            if (container.PseudoTerminal)
            {
                Add($"{field}.pseudoTerminal");
            }

            if (container.Interactive)
            {
                Add($"{field}.interactive");
            }

            if (container.Privileged)
            {
                Add($"{field}.privileged");
            }
        }

        foreach (var volume in definition.Volumes)
        {
            if (volume.DockerVolumeConfiguration is not { } docker)
            {
                continue;
            }

            var field = $"volumes[{volume.Name}].dockerVolumeConfiguration";
            if (docker.Driver is { Length: > 0 } driver && driver != "local")
            {
                Add($"{field}.driver {driver}");
            }

            if (docker.DriverOpts.Count > 0)
            {
                Add($"{field}.driverOpts");
            }
        }

        return features ?? (IReadOnlyList<string>)[];
    }

    /// <summary>
    /// Why a node of <paramref name="runtime"/> cannot run <paramref name="features"/>, in the words the
    /// scheduler's placement failure and the agent's refusal share:
    /// "runtime containerd cannot run networkMode awsvpc, containerDefinitions[web].links (needs docker)".
    /// </summary>
    public static string Explain(string runtime, IReadOnlyList<string> features) =>
        $"runtime {runtime} cannot run {string.Join(", ", features)} (needs {Docker})";

    /// <summary>Whether a node with these attributes runs Docker: it says so, or it says nothing (agents before containerd).</summary>
    public static bool RunsDocker(IReadOnlyDictionary<string, string> attributes) =>
        !attributes.TryGetValue(RuntimeAttribute, out var runtime) || runtime == Docker;
}
