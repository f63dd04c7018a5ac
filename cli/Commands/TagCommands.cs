using System.CommandLine;
using Orchestrator.Contracts.V1;
using static Orchestrator.Cli.CommandExtensions;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// orchestrator tag add|rm|ls (TagService). A resource is named as in tags.proto: cluster/NAME,
/// task-definition/FAMILY:REVISION, service/CLUSTER/NAME, task/CLUSTER/TASK_ID, node/CLUSTER/NAME.
/// </summary>
internal static class TagCommands
{
    private const string ResourceHelp = "cluster/NAME, task-definition/FAMILY:REVISION, service/CLUSTER/NAME, task/CLUSTER/TASK_ID or node/CLUSTER/NAME";

    public static Command Create(CliContext context, GlobalOptions options) =>
        new Command("tag", "Tags of clusters, task definitions, services, tasks and nodes")
            .With(Add(context, options), Remove(context, options), List(context, options));

    private static Argument<string?> Resource() => new("RESOURCE") { Arity = ArgumentArity.ZeroOrOne, Description = ResourceHelp };

    private static Command Add(CliContext context, GlobalOptions options)
    {
        var resource = Resource();
        var tags = new Argument<string[]>("KEY=VALUE") { Arity = ArgumentArity.ZeroOrMore, Description = "Tags to add or change" };
        return Verb("add", "Adds tags to a resource, or changes the values of keys it has", "orchestrator tag add service/default/web team=web env=prod")
            .With(resource, tags, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<TagResourceRequest>();
                run.Set(resource, r => request.ResourceArn = r);
                request.Tags.Add(Shared.ParseTags(run.Value(tags)));
                await run.Tagging.TagResourceAsync(request, cancellationToken: run.Cancel);
                return await ShowTagsAsync(run, request.ResourceArn);
            });
    }

    private static Command Remove(CliContext context, GlobalOptions options)
    {
        var resource = Resource();
        var keys = new Argument<string[]>("KEY") { Arity = ArgumentArity.ZeroOrMore, Description = "Keys to remove (a key it does not have is no error)" };
        return Verb("rm", "Removes tags from a resource", "orchestrator tag rm service/default/web env")
            .With(resource, keys, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<UntagResourceRequest>();
                run.Set(resource, r => request.ResourceArn = r);
                request.TagKeys.Add(run.Value(keys) ?? []);
                await run.Tagging.UntagResourceAsync(request, cancellationToken: run.Cancel);
                return await ShowTagsAsync(run, request.ResourceArn);
            });
    }

    private static Command List(CliContext context, GlobalOptions options)
    {
        var resource = Resource();
        return Verb("ls", "Lists a resource's tags", "orchestrator tag ls node/default/node-1")
            .With(resource, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<ListTagsForResourceRequest>();
                run.Set(resource, r => request.ResourceArn = r);
                var response = await run.Tagging.ListTagsForResourceAsync(request, cancellationToken: run.Cancel);
                return Shared.Show(run, response, response.Tags, ["key", "value"]);
            });
    }

    /// <summary>Tag and Untag answer nothing: the CLI shows the tags the resource has afterwards.</summary>
    private static async Task<int> ShowTagsAsync(Invocation run, string resource)
    {
        var response = await run.Tagging.ListTagsForResourceAsync(new ListTagsForResourceRequest { ResourceArn = resource }, cancellationToken: run.Cancel);
        return Shared.Show(run, response, response.Tags, ["key", "value"]);
    }
}
