using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>
/// Resource names for the tag RPCs: the resource part of an ECS ARN, with our names in it:
/// cluster/NAME, task-definition/FAMILY:REVISION, service/CLUSTER/NAME, task/CLUSTER/TASK_ID,
/// node/CLUSTER/NAME.
/// </summary>
internal static class ResourceArns
{
    private const string Forms = "cluster/NAME, task-definition/FAMILY:REVISION, service/CLUSTER/NAME, task/CLUSTER/TASK_ID or node/CLUSTER/NAME";

    public static ResourceRef Parse(string arn, string field = "resourceArn")
    {
        if (arn.Length == 0)
        {
            throw RequestException.Invalid(field, $"is required: {Forms}");
        }

        Names.Text(arn, field, 600);
        var parts = arn.Split('/');
        return parts switch
        {
            ["cluster", var name] => new ResourceRef(ResourceKind.Cluster, "", Names.Require(name, field, "cluster name")),
            ["task-definition", var revision] => new ResourceRef(ResourceKind.TaskDefinition, "", Revision(revision, field)),
            ["service", var cluster, var name] => new ResourceRef(ResourceKind.Service, Names.Require(cluster, field, "cluster name"), Names.Require(name, field, "service name")),
            ["task", var cluster, var id] => new ResourceRef(ResourceKind.Task, Names.Require(cluster, field, "cluster name"), TaskIds.Require(id, field)),
            ["node", var cluster, var name] => new ResourceRef(ResourceKind.Node, Names.Require(cluster, field, "cluster name"), Names.Node(name, field)),
            _ => throw RequestException.Invalid(field, $"\"{Echo.Clip(arn)}\" names no resource: use {Forms}"),
        };
    }

    private static string Revision(string reference, string field)
    {
        var colon = reference.LastIndexOf(':');
        if (colon <= 0)
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(reference)}\" must be \"task-definition/FAMILY:REVISION\"");
        }

        Names.Require(reference[..colon], field, "task definition family");
        return reference;
    }
}
