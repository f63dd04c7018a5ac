using System.CommandLine;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using static Orchestrator.Cli.CommandExtensions;

namespace Orchestrator.Cli.Commands;

/// <summary>orchestrator cluster create|ls|describe|delete (ClusterService).</summary>
internal static class ClusterCommands
{
    public static readonly string[] Columns = ["name", "status", "registeredNodes", "connectedNodes", "runningTasks", "pendingTasks", "activeServices", "createdAt"];

    public static Command Create(CliContext context, GlobalOptions options)
    {
        var cluster = new Command("cluster", "Clusters: groups of nodes, tasks and services (\"default\" always exists)");
        cluster.With(CreateCommand(context, options), List(context, options), Describe(context, options), Delete(context, options));
        return cluster;
    }

    private static Command CreateCommand(CliContext context, GlobalOptions options)
    {
        var name = new Argument<string?>("NAME") { Arity = ArgumentArity.ZeroOrOne, Description = "The new cluster's name" };
        var tags = Shared.Tags();
        return Verb("create", "Creates a cluster", "orchestrator cluster create staging --tag team=web")
            .With(name, tags, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<CreateClusterRequest>();
                if (run.Value(name) is { } value)
                {
                    request.Name = value;
                }

                request.Tags.Add(Shared.ParseTags(run.Value(tags)));
                var response = await run.Clusters.CreateClusterAsync(request, cancellationToken: run.Cancel);
                return Shared.ShowOne(run, response, response.Cluster);
            });
    }

    private static Command List(CliContext context, GlobalOptions options)
    {
        var max = Shared.MaxResults();
        var next = Shared.NextToken();
        return Verb("ls", "Lists clusters (json: the ListClusters answer; table: each cluster described)", "orchestrator cluster ls")
            .With(max, next, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<ListClustersRequest>();
                if (run.Value(max) is { } m)
                {
                    request.MaxResults = m;
                }

                if (run.Value(next) is { } n)
                {
                    request.NextToken = n;
                }

                var response = await run.Clusters.ListClustersAsync(request, cancellationToken: run.Cancel);
                if (run.Printer.Json)
                {
                    run.Printer.Message(response);
                    return ExitCodes.Ok;
                }

                var described = response.Names.Count == 0
                    ? new DescribeClustersResponse()
                    : await run.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Names = { response.Names } }, cancellationToken: run.Cancel);
                run.Printer.Table(described.Clusters, Columns);
                Shared.MorePages(run, response.NextToken);
                return ExitCodes.Ok;
            });
    }

    private static Command Describe(CliContext context, GlobalOptions options)
    {
        var names = new Argument<string[]>("NAME") { Arity = ArgumentArity.ZeroOrMore, Description = "Clusters to describe [default: default]" };
        return Verb("describe", "Describes clusters: counts of nodes, tasks and services", "orchestrator cluster describe default")
            .With(names, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<DescribeClustersRequest>();
                request.Names.Add(run.Value(names) ?? []);
                var response = await run.Clusters.DescribeClustersAsync(request, cancellationToken: run.Cancel);
                return Shared.Show(run, response, response.Clusters, Columns, response.Failures);
            });
    }

    private static Command Delete(CliContext context, GlobalOptions options)
    {
        var name = new Argument<string?>("NAME") { Arity = ArgumentArity.ZeroOrOne, Description = "The cluster to delete" };
        return Verb("delete", "Deletes a cluster that has no nodes, tasks or services left", "orchestrator cluster delete staging")
            .With(name, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<DeleteClusterRequest>();
                if (run.Value(name) is { } value)
                {
                    request.Name = value;
                }

                var response = await run.Clusters.DeleteClusterAsync(request, cancellationToken: run.Cancel);
                return Shared.ShowOne(run, response, response.Cluster);
            });
    }
}
