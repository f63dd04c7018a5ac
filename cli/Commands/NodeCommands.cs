using System.CommandLine;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using static Orchestrator.Cli.CommandExtensions;

namespace Orchestrator.Cli.Commands;

/// <summary>orchestrator node ls|describe|drain|activate|deregister and node attributes (NodeService).</summary>
internal static class NodeCommands
{
    public static readonly string[] Columns =
        ["name", "status", "agentConnected", "runningTasks", "pendingTasks", "registered", "remaining", "agentVersion", "lastHeartbeatAt"];

    public static Command Create(CliContext context, GlobalOptions options) =>
        new Command("node", "Nodes: the hosts whose agents run tasks")
            .With(List(context, options), Describe(context, options),
                Status(context, options, "drain", NodeStatus.Draining, "Sets a node DRAINING: it gets no new tasks, and services move theirs away", "orchestrator node drain node-1"),
                Status(context, options, "activate", NodeStatus.Active, "Sets a node ACTIVE again", "orchestrator node activate node-1"),
                Deregister(context, options), Attributes(context, options));

    private static Command List(CliContext context, GlobalOptions options)
    {
        var all = new Option<bool>("--all") { Description = "INACTIVE (deregistered) nodes too" };
        var max = Shared.MaxResults();
        var next = Shared.NextToken();
        return Verb("ls", "Lists a cluster's ACTIVE and DRAINING nodes", "orchestrator node ls")
            .With(options.Cluster, all, max, next, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<ListNodesRequest>();
                run.SetCluster(c => request.Cluster = c);
                run.Set(all, a => request.IncludeAllStatuses = a);
                run.Set(max, m => request.MaxResults = m);
                run.Set(next, n => request.NextToken = n);
                var response = await run.Nodes.ListNodesAsync(request, cancellationToken: run.Cancel);
                var code = Shared.Show(run, response, response.Nodes, Columns);
                Shared.MorePages(run, response.NextToken);
                return code;
            });
    }

    private static Command Describe(CliContext context, GlobalOptions options)
    {
        var names = new Argument<string[]>("NODE") { Arity = ArgumentArity.ZeroOrMore, Description = "Node names" };
        return Verb("describe", "Describes nodes: resources, ports in use, attributes", "orchestrator node describe node-1")
            .With(names, options.Cluster, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<DescribeNodesRequest>();
                run.SetCluster(c => request.Cluster = c);
                request.Names.Add(run.Value(names) ?? []);
                var response = await run.Nodes.DescribeNodesAsync(request, cancellationToken: run.Cancel);
                if (!run.Printer.Json && response.Nodes.Count == 1 && response.Failures.Count == 0)
                {
                    run.Printer.Details(response.Nodes[0]);
                    return ExitCodes.Ok;
                }

                return Shared.Show(run, response, response.Nodes, Columns, response.Failures);
            });
    }

    private static Command Status(CliContext context, GlobalOptions options, string verb, NodeStatus status, string description, string example)
    {
        var name = new Argument<string?>("NODE") { Arity = ArgumentArity.ZeroOrOne, Description = "The node's name" };
        return Verb(verb, description, example)
            .With(name, options.Cluster, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<UpdateNodeStatusRequest>();
                request.Status = status;
                run.Set(name, n => request.Name = n);
                run.SetCluster(c => request.Cluster = c);
                var response = await run.Nodes.UpdateNodeStatusAsync(request, cancellationToken: run.Cancel);
                return Shared.ShowOne(run, response, response.Node);
            });
    }

    private static Command Deregister(CliContext context, GlobalOptions options)
    {
        var name = new Argument<string?>("NODE") { Arity = ArgumentArity.ZeroOrOne, Description = "The node's name" };
        var force = new Option<bool>("--force") { Description = "Stop its tasks (else a node with tasks is refused)" };
        return Verb("deregister", "Marks a node INACTIVE and disconnects its agent", "orchestrator node deregister node-3 --force")
            .With(name, options.Cluster, force, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<DeregisterNodeRequest>();
                run.Set(name, n => request.Name = n);
                run.SetCluster(c => request.Cluster = c);
                run.Set(force, f => request.Force = f);
                var response = await run.Nodes.DeregisterNodeAsync(request, cancellationToken: run.Cancel);
                return Shared.ShowOne(run, response, response.Node);
            });
    }

    private static Command Attributes(CliContext context, GlobalOptions options)
    {
        string[] columns = ["targetId", "name", "value"];
        var listNode = new Option<string?>("--node") { Description = "Only this node's" };
        var listName = new Option<string?>("--name") { Description = "Only attributes of this name" };
        var list = Verb("ls", "Lists the attributes of a cluster's nodes (the agents' and custom ones)", "orchestrator node attributes ls --node node-1")
            .With(options.Cluster, listNode, listName, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<ListAttributesRequest>();
                run.SetCluster(c => request.Cluster = c);
                run.Set(listNode, n => request.TargetId = n);
                run.Set(listName, n => request.AttributeName = n);
                var response = await run.Nodes.ListAttributesAsync(request, cancellationToken: run.Cancel);
                var code = Shared.Show(run, response, response.Attributes, columns);
                Shared.MorePages(run, response.NextToken);
                return code;
            });

        var putNode = new Argument<string?>("NODE") { Arity = ArgumentArity.ZeroOrOne, Description = "The node" };
        var pairs = new Argument<string[]>("NAME=VALUE") { Arity = ArgumentArity.ZeroOrMore, Description = "Attributes to set (NAME= or NAME: by name only)" };
        var put = Verb("put", "Sets custom attributes of a node (memberOf placement sees them at once)", "orchestrator node attributes put node-1 zone=a disk=ssd")
            .With(putNode, pairs, options.Cluster, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<PutAttributesRequest>();
                run.SetCluster(c => request.Cluster = c);
                var node = run.Value(putNode) ?? "";
                foreach (var pair in run.Value(pairs) ?? [])
                {
                    var equals = pair.IndexOf('=', StringComparison.Ordinal);
                    request.Attributes.Add(new Contracts.V1.Attribute
                    {
                        TargetId = node,
                        Name = equals < 0 ? pair : pair[..equals],
                        Value = equals < 0 ? "" : pair[(equals + 1)..],
                    });
                }

                var response = await run.Nodes.PutAttributesAsync(request, cancellationToken: run.Cancel);
                return Shared.Show(run, response, response.Attributes, columns);
            });

        var deleteNode = new Argument<string?>("NODE") { Arity = ArgumentArity.ZeroOrOne, Description = "The node" };
        var names = new Argument<string[]>("NAME") { Arity = ArgumentArity.ZeroOrMore, Description = "Attribute names to delete" };
        var delete = Verb("delete", "Deletes custom attributes of a node", "orchestrator node attributes delete node-1 zone")
            .With(deleteNode, names, options.Cluster, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<DeleteAttributesRequest>();
                run.SetCluster(c => request.Cluster = c);
                var node = run.Value(deleteNode) ?? "";
                request.Attributes.Add((run.Value(names) ?? []).Select(n => new Contracts.V1.Attribute { TargetId = node, Name = n }));
                var response = await run.Nodes.DeleteAttributesAsync(request, cancellationToken: run.Cancel);
                return Shared.Show(run, response, response.Attributes, columns);
            });

        return new Command("attributes", "Custom node attributes (ECS's PutAttributes), used by memberOf placement").With(list, put, delete);
    }
}
