using System.Security.Cryptography;
using Google.Protobuf;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>StartTask: RunTask's fields, less count and strategies, plus the nodes to start on.</summary>
internal static class StartTaskValidator
{
    /// <summary>ECS's bound: ten container instances per StartTask.</summary>
    public const int MaxNodes = 10;

    public static RunTaskCommand Validate(Contract.StartTaskRequest request)
    {
        var cluster = Names.Cluster(request.Cluster);
        var definition = Names.TaskDefinitionReference(request.TaskDefinition);
        var nodes = Nodes(request.Nodes);
        Names.Text(request.StartedBy, "startedBy", 128);
        Names.Text(request.Group, "group", Names.MaxLength);
        Names.Text(request.ClientToken, "clientToken", Limits.MaxClientTokenLength);
        return new RunTaskCommand(
            cluster,
            definition,
            nodes.Count,
            [],
            RunTaskValidator.Constraints(request.PlacementConstraints),
            request.StartedBy,
            request.Group,
            request.ClientToken,
            HashOf(request),
            TagValidator.Validate(request.Tags),
            RunTaskValidator.Propagation(request.PropagateTags, "StartTask"),
            OverrideValidator.Validate(request.Overrides),
            nodes);
    }

    private static IReadOnlyList<string> Nodes(IReadOnlyList<string> nodes)
    {
        if (nodes.Count == 0)
        {
            throw RequestException.Invalid("nodes", $"1 to {MaxNodes} node names are required");
        }

        Limits.Count(nodes, MaxNodes, "nodes");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < nodes.Count; i++)
        {
            Names.Node(nodes[i], $"nodes[{i}]");
            if (!seen.Add(nodes[i]))
            {
                throw RequestException.Invalid($"nodes[{i}]", $"node \"{nodes[i]}\" is named twice; StartTask starts one task on each node");
            }
        }

        return [.. nodes];
    }

    /// <summary>
    /// As RunTask's, marked as StartTask's: a client token is one namespace for both calls, and a
    /// StartTask never passes for a retry of a RunTask.
    /// </summary>
    private static string HashOf(Contract.StartTaskRequest request)
    {
        var copy = request.Clone();
        copy.ClientToken = "";
        return "StartTask:" + Convert.ToHexString(SHA256.HashData(copy.ToByteArray()));
    }
}
