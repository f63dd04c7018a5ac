using Orchestrator.Contracts.V1;

namespace Orchestrator.Agent.Tasks;

/// <summary>A task definition's networkMode values, as ECS names them.</summary>
internal static class NetworkModes
{
    public const string Bridge = "bridge";
    public const string Host = "host";
    public const string None = "none";

    /// <summary>ECS's awsvpc made local: a Docker bridge network of the task's own.</summary>
    public const string Awsvpc = "awsvpc";

    public static readonly IReadOnlyList<string> All = [Bridge, Host, None, Awsvpc];

    /// <summary>The task's mode; absent means bridge.</summary>
    public static string Of(TaskDefinition task) => task.NetworkMode.Length > 0 ? task.NetworkMode : Bridge;
}
