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
    /// The features of the task definition that only Docker has, each named by its field as the user
    /// wrote it ("networkMode awsvpc", "containerDefinitions[web].links"); empty when it runs on both.
    /// </summary>
    public static IReadOnlyList<string> DockerOnlyFeatures(TaskDefinition definition) => throw new NotImplementedException("helper E");
}
