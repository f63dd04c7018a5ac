using System.CommandLine;
using Orchestrator.Cli.Input;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using static Orchestrator.Cli.CommandExtensions;

namespace Orchestrator.Cli.Commands;

/// <summary>orchestrator taskdef register|ls|describe|deregister (TaskDefinitionService).</summary>
internal static class TaskDefinitionCommands
{
    public static Command Create(CliContext context, GlobalOptions options) =>
        new Command("taskdef", "Task definitions: revisions of what a task runs (family:revision)")
            .With(Register(context, options), List(context, options), Families(context, options), Describe(context, options), Deregister(context, options),
                Delete(context, options));

    private static Command Register(CliContext context, GlobalOptions options)
    {
        var file = new Option<string?>("--file", "-f") { Description = "The RegisterTaskDefinitionRequest as JSON, from FILE or - (stdin)", HelpName = "FILE|-" };
        return Verb("register", "Registers a new revision of a family from its JSON (the RegisterTaskDefinitionRequest)", "orchestrator taskdef register -f web.json")
            .With(file, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Value(file) is { } path
                    ? RequestInput.Load<RegisterTaskDefinitionRequest>(path, context.In, "--file")
                    : run.Request<RegisterTaskDefinitionRequest>();
                var response = await run.TaskDefinitions.RegisterTaskDefinitionAsync(request, cancellationToken: run.Cancel);
                return Shared.ShowOne(run, response, response.TaskDefinition);
            });
    }

    private static Command List(CliContext context, GlobalOptions options)
    {
        var family = new Option<string?>("--family") { Description = "Only this family's revisions" };
        var all = new Option<bool>("--all") { Description = "INACTIVE (deregistered) revisions too" };
        var max = Shared.MaxResults();
        var next = Shared.NextToken();
        return Verb("ls", "Lists task definition revisions (ACTIVE ones unless --all)", "orchestrator taskdef ls --family web")
            .With(family, all, max, next, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<ListTaskDefinitionsRequest>();
                run.Set(family, f => request.FamilyPrefix = f);
                run.Set(all, a => request.IncludeAllStatuses = a);
                run.Set(max, m => request.MaxResults = m);
                run.Set(next, n => request.NextToken = n);
                var response = await run.TaskDefinitions.ListTaskDefinitionsAsync(request, cancellationToken: run.Cancel);
                return Shared.PrintNames(run, response, "taskDefinitionArns", response.TaskDefinitionArns, response.NextToken);
            });
    }

    private static Command Families(CliContext context, GlobalOptions options)
    {
        var prefix = new Option<string?>("--prefix") { Description = "Only families whose names start with this" };
        var max = Shared.MaxResults();
        var next = Shared.NextToken();
        return Verb("families", "Lists task definition families", "orchestrator taskdef families --prefix web")
            .With(prefix, max, next, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<ListTaskDefinitionFamiliesRequest>();
                run.Set(prefix, p => request.FamilyPrefix = p);
                run.Set(max, m => request.MaxResults = m);
                run.Set(next, n => request.NextToken = n);
                var response = await run.TaskDefinitions.ListTaskDefinitionFamiliesAsync(request, cancellationToken: run.Cancel);
                return Shared.PrintNames(run, response, "families", response.Families, response.NextToken);
            });
    }

    private static Command Delete(CliContext context, GlobalOptions options)
    {
        var names = new Argument<string[]>("FAMILY:REVISION") { Arity = ArgumentArity.ZeroOrMore, Description = "INACTIVE revisions to delete (1 to 10)" };
        return Verb("delete", "Deletes INACTIVE revisions (gone once no task or service uses them)", "orchestrator taskdef delete web:1 web:2")
            .With(names, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<DeleteTaskDefinitionsRequest>();
                request.TaskDefinitions.Add(run.Value(names) ?? []);
                var response = await run.TaskDefinitions.DeleteTaskDefinitionsAsync(request, cancellationToken: run.Cancel);
                return Shared.Show(run, response, response.TaskDefinitions, ["taskDefinitionArn", "status", "registeredAt", "deregisteredAt"], response.Failures);
            });
    }

    private static Command Describe(CliContext context, GlobalOptions options)
    {
        var name = new Argument<string?>("FAMILY[:REVISION]") { Arity = ArgumentArity.ZeroOrOne, Description = "A family (its latest ACTIVE revision) or family:revision" };
        return Verb("describe", "Describes one revision of a task definition", "orchestrator taskdef describe web:3")
            .With(name, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<DescribeTaskDefinitionRequest>();
                run.Set(name, n => request.TaskDefinition = n);
                var response = await run.TaskDefinitions.DescribeTaskDefinitionAsync(request, cancellationToken: run.Cancel);
                return Shared.ShowOne(run, response, response.TaskDefinition);
            });
    }

    private static Command Deregister(CliContext context, GlobalOptions options)
    {
        var name = new Argument<string?>("FAMILY:REVISION") { Arity = ArgumentArity.ZeroOrOne, Description = "The revision to make INACTIVE" };
        return Verb("deregister", "Deregisters a revision: it runs no new tasks or services (running ones go on)", "orchestrator taskdef deregister web:2")
            .With(name, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<DeregisterTaskDefinitionRequest>();
                run.Set(name, n => request.TaskDefinition = n);
                var response = await run.TaskDefinitions.DeregisterTaskDefinitionAsync(request, cancellationToken: run.Cancel);
                return Shared.ShowOne(run, response, response.TaskDefinition);
            });
    }
}
