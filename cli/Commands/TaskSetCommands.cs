using System.CommandLine;
using Orchestrator.Contracts.V1;
using static Orchestrator.Cli.CommandExtensions;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// orchestrator task-set create|update|delete|ls (ServiceService's task set calls), for services with the
/// EXTERNAL deployment controller: blue/green and canary. The primary one is chosen with
/// <c>orchestrator service update-primary-task-set</c>.
/// </summary>
internal static class TaskSetCommands
{
    public static readonly string[] Columns =
        ["id", "status", "taskDefinition", "scale", "computedDesiredCount", "runningCount", "pendingCount", "stabilityStatus", "externalId"];

    public static Command Create(CliContext context, GlobalOptions options) =>
        new Command("task-set", "Task sets of a service with the EXTERNAL deployment controller (blue/green, canary)")
            .With(CreateCommand(context, options), Update(context, options), Delete(context, options), List(context, options));

    private static Argument<string?> Service() => new("SERVICE") { Arity = ArgumentArity.ZeroOrOne, Description = "The service (EXTERNAL deployment controller)" };

    private static Argument<string?> TaskSet() => new("TASK_SET") { Arity = ArgumentArity.ZeroOrOne, Description = "The task set's id (ecs-svc/…)" };

    private static Option<double?> ScaleOption(string description) => new("--scale") { Description = description };

    private static Scale Percent(double value) => new() { Value = value, Unit = "PERCENT" };

    private static Command CreateCommand(CliContext context, GlobalOptions options)
    {
        var service = Service();
        var definition = new Option<string?>("--taskdef", "--task-definition") { Description = "FAMILY or FAMILY:REVISION" };
        var scale = ScaleOption("Percent of the service's desired count (0..100) [default: 100]");
        var externalId = new Option<string?>("--external-id") { Description = "Your own id for it" };
        var clientToken = new Option<string?>("--client-token") { Description = "A retry with the same token answers the same task set" };
        return Verb("create", "Creates a task set: the first one is PRIMARY, later ones ACTIVE",
                "orchestrator task-set create web --taskdef web:4 --scale 10")
            .With(service, options.Cluster, definition, scale, externalId, clientToken, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<CreateTaskSetRequest>();
                run.Set(service, s => request.Service = s);
                run.SetCluster(c => request.Cluster = c);
                run.Set(definition, d => request.TaskDefinition = d);
                if (run.Value(scale) is { } percent)
                {
                    request.Scale = Percent(percent);
                }

                run.Set(externalId, e => request.ExternalId = e);
                run.Set(clientToken, t => request.ClientToken = t);
                var response = await run.Services.CreateTaskSetAsync(request, cancellationToken: run.Cancel);
                return Shared.ShowOne(run, response, response.TaskSet);
            });
    }

    private static Command Update(CliContext context, GlobalOptions options)
    {
        var service = Service();
        var taskSet = TaskSet();
        var scale = ScaleOption("The new percent of the service's desired count (0..100)");
        return Verb("update", "Sets a task set's scale (and so its share of the balancers' traffic)",
                "orchestrator task-set update web ecs-svc/0123456789abcdef --scale 100")
            .With(service, taskSet, options.Cluster, scale, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<UpdateTaskSetRequest>();
                run.Set(service, s => request.Service = s);
                run.Set(taskSet, t => request.TaskSet = t);
                run.SetCluster(c => request.Cluster = c);
                if (run.Value(scale) is { } percent)
                {
                    request.Scale = Percent(percent);
                }

                var response = await run.Services.UpdateTaskSetAsync(request, cancellationToken: run.Cancel);
                return Shared.ShowOne(run, response, response.TaskSet);
            });
    }

    private static Command Delete(CliContext context, GlobalOptions options)
    {
        var service = Service();
        var taskSet = TaskSet();
        var force = new Option<bool>("--force") { Description = "Also the PRIMARY task set" };
        return Verb("delete", "Deletes a task set: it drains and its tasks stop", "orchestrator task-set delete web ecs-svc/0123456789abcdef")
            .With(service, taskSet, options.Cluster, force, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<DeleteTaskSetRequest>();
                run.Set(service, s => request.Service = s);
                run.Set(taskSet, t => request.TaskSet = t);
                run.SetCluster(c => request.Cluster = c);
                run.Set(force, f => request.Force = f);
                var response = await run.Services.DeleteTaskSetAsync(request, cancellationToken: run.Cancel);
                return Shared.ShowOne(run, response, response.TaskSet);
            });
    }

    private static Command List(CliContext context, GlobalOptions options)
    {
        var service = Service();
        var ids = new Argument<string[]>("TASK_SET") { Arity = ArgumentArity.ZeroOrMore, Description = "Task sets to describe (none: all of them)" };
        var command = Verb("ls", "Lists a service's task sets with their counts and stability (DescribeTaskSets)", "orchestrator task-set ls web")
            .With(service, ids, options.Cluster, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<DescribeTaskSetsRequest>();
                run.Set(service, s => request.Service = s);
                run.SetCluster(c => request.Cluster = c);
                request.TaskSets.Add(run.Value(ids) ?? []);
                var response = await run.Services.DescribeTaskSetsAsync(request, cancellationToken: run.Cancel);
                return Shared.Show(run, response, response.TaskSets, Columns, response.Failures);
            });
        command.Aliases.Add("list");
        return command;
    }
}
