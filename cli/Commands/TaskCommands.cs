using System.CommandLine;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using static Orchestrator.Cli.CommandExtensions;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Cli.Commands;

/// <summary>orchestrator task run|ls|describe|stop|logs|exec (TaskService).</summary>
internal static class TaskCommands
{
    public static readonly string[] Columns =
        ["taskId", "taskDefinitionArn", "lastStatus", "desiredStatus", "node", "service", "cpu", "memory", "createdAt", "stopCode", "stoppedReason"];

    public static Command Create(CliContext context, GlobalOptions options) =>
        new Command("task", "Tasks: running copies of a task definition")
            .With(Run(context, options), Start(context, options), List(context, options), Describe(context, options), Stop(context, options),
                Protect(context, options), Protection(context, options),
                TaskLogsCommand.Create(context, options), TaskExecCommand.Create(context, options));

    private static Command Run(CliContext context, GlobalOptions options)
    {
        var definition = new Argument<string?>("FAMILY[:REVISION]") { Arity = ArgumentArity.ZeroOrOne, Description = "The task definition (a family: its latest ACTIVE revision)" };
        var count = new Option<int?>("--count", "-n") { Description = "How many tasks (1..1000) [default: 1]" };
        var startedBy = new Option<string?>("--started-by") { Description = "Who started them (ListTasks filters on it)" };
        var group = new Option<string?>("--group") { Description = "The task group [default: family:FAMILY]" };
        var clientToken = new Option<string?>("--client-token") { Description = "Makes the call idempotent: the same token answers the first result again [default: a new one per run, so the CLI's own retries never start twice]" };
        var tags = Shared.Tags();
        return Verb("run", "Places tasks of a task definition; tasks not placed are printed as failures (exit 1)",
                "orchestrator task run web --count 3", "orchestrator task run web:4 --cluster staging --started-by ci")
            .With(definition, count, options.Cluster, startedBy, group, clientToken, tags, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<RunTaskRequest>();
                run.Set(definition, d => request.TaskDefinition = d);
                run.Set(count, c => request.Count = c);
                run.SetCluster(c => request.Cluster = c);
                run.Set(startedBy, s => request.StartedBy = s);
                run.Set(group, g => request.Group = g);
                run.Set(clientToken, t => request.ClientToken = t);
                request.Tags.Add(Shared.ParseTags(run.Value(tags)));
                if (request.ClientToken.Length == 0)
                {
                    request.ClientToken = $"cli-{Guid.NewGuid():N}";
                }

                var response = await run.Tasks.RunTaskAsync(request, cancellationToken: run.Cancel);
                return Shared.Show(run, response, response.Tasks, Columns, response.Failures);
            });
    }

    private static Command Start(CliContext context, GlobalOptions options)
    {
        var definition = new Argument<string?>("FAMILY[:REVISION]") { Arity = ArgumentArity.ZeroOrOne, Description = "The task definition" };
        var nodes = new Option<string[]>("--node") { Description = "A node to start one task on (repeatable, 1 to 10)" };
        var startedBy = new Option<string?>("--started-by") { Description = "Who started them" };
        var group = new Option<string?>("--group") { Description = "The task group [default: family:FAMILY]" };
        var tags = Shared.Tags();
        return Verb("start", "Starts one task on each named node (ECS's StartTask: no placement strategy, the node must fit)",
                "orchestrator task start web --node node-1 --node node-2")
            .With(definition, nodes, options.Cluster, startedBy, group, tags, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<StartTaskRequest>();
                run.Set(definition, d => request.TaskDefinition = d);
                request.Nodes.Add(run.Value(nodes) ?? []);
                run.SetCluster(c => request.Cluster = c);
                run.Set(startedBy, s => request.StartedBy = s);
                run.Set(group, g => request.Group = g);
                request.Tags.Add(Shared.ParseTags(run.Value(tags)));
                if (request.ClientToken.Length == 0)
                {
                    request.ClientToken = $"cli-{Guid.NewGuid():N}";
                }

                var response = await run.Tasks.StartTaskAsync(request, cancellationToken: run.Cancel);
                return Shared.Show(run, response, response.Tasks, Columns, response.Failures);
            });
    }

    private static readonly string[] ProtectionColumns = ["taskId", "protectionEnabled", "expirationDate"];

    private static Command Protect(CliContext context, GlobalOptions options)
    {
        var ids = new Argument<string[]>("TASK") { Arity = ArgumentArity.ZeroOrMore, Description = "Service task ids (1 to 10)" };
        var off = new Option<bool>("--off") { Description = "Remove the protection" };
        var minutes = new Option<int?>("--expires-in-minutes") { Description = "How long (1..2880) [default: 120]" };
        return Verb("protect", "Protects service tasks from scale-in and deployments replacing them (until it expires)",
                "orchestrator task protect 3f2c9d0e --expires-in-minutes 60", "orchestrator task protect 3f2c9d0e --off")
            .With(ids, options.Cluster, off, minutes, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<UpdateTaskProtectionRequest>();
                run.SetCluster(c => request.Cluster = c);
                request.Tasks.Add(run.Value(ids) ?? []);
                if (run.Value(options.CliInputJson) is null || run.Given(off))
                {
                    request.ProtectionEnabled = !run.Value(off);
                }

                run.Set(minutes, m => request.ExpiresInMinutes = m);
                var response = await run.Tasks.UpdateTaskProtectionAsync(request, cancellationToken: run.Cancel);
                return Shared.Show(run, response, response.ProtectedTasks, ProtectionColumns, response.Failures);
            });
    }

    private static Command Protection(CliContext context, GlobalOptions options)
    {
        var ids = new Argument<string[]>("TASK") { Arity = ArgumentArity.ZeroOrMore, Description = "Task ids (1 to 100)" };
        return Verb("protection", "Shows whether tasks are protected from scale-in, and until when", "orchestrator task protection 3f2c9d0e")
            .With(ids, options.Cluster, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<GetTaskProtectionRequest>();
                run.SetCluster(c => request.Cluster = c);
                request.Tasks.Add(run.Value(ids) ?? []);
                var response = await run.Tasks.GetTaskProtectionAsync(request, cancellationToken: run.Cancel);
                return Shared.Show(run, response, response.ProtectedTasks, ProtectionColumns, response.Failures);
            });
    }

    private static Command List(CliContext context, GlobalOptions options)
    {
        var service = new Option<string?>("--service") { Description = "Only this service's tasks" };
        var family = new Option<string?>("--family") { Description = "Only tasks of this family" };
        var node = new Option<string?>("--node") { Description = "Only tasks on this node" };
        var startedBy = new Option<string?>("--started-by") { Description = "Only tasks started by this" };
        var status = new Option<string?>("--status") { Description = "Desired status: running, stopped or all [default: running]" };
        status.AcceptOnlyFromAmong("running", "stopped", "all");
        var max = Shared.MaxResults();
        var next = Shared.NextToken();
        return Verb("ls", "Lists tasks (json: the ListTasks answer; table: each task described)",
                "orchestrator task ls --service web", "orchestrator task ls --status stopped -o json | jq -r '.taskIds[]'")
            .With(options.Cluster, service, family, node, startedBy, status, max, next, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<ListTasksRequest>();
                run.SetCluster(c => request.Cluster = c);
                run.Set(service, s => request.Service = s);
                run.Set(family, f => request.Family = f);
                run.Set(node, n => request.Node = n);
                run.Set(startedBy, s => request.StartedBy = s);
                run.Set(status, s =>
                {
                    request.IncludeAllStatuses = s == "all";
                    request.DesiredStatus = s == "stopped" ? TaskStatus.Stopped : TaskStatus.Running;
                });
                run.Set(max, m => request.MaxResults = m);
                run.Set(next, n => request.NextToken = n);
                var response = await run.Tasks.ListTasksAsync(request, cancellationToken: run.Cancel);
                if (run.Printer.Json)
                {
                    run.Printer.Message(response);
                    return ExitCodes.Ok;
                }

                var tasks = new List<Contracts.V1.Task>();
                foreach (var chunk in response.TaskIds.Chunk(100))
                {
                    var described = await run.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = request.Cluster, Tasks = { chunk } }, cancellationToken: run.Cancel);
                    tasks.AddRange(described.Tasks);
                }

                run.Printer.Table(tasks, Columns);
                Shared.MorePages(run, response.NextToken);
                return ExitCodes.Ok;
            });
    }

    private static Command Describe(CliContext context, GlobalOptions options)
    {
        var ids = new Argument<string[]>("TASK") { Arity = ArgumentArity.ZeroOrMore, Description = "Task ids (up to 100)" };
        return Verb("describe", "Describes tasks (a task id that is not found is an error line, exit 1)", "orchestrator task describe 3f2c9d0e")
            .With(ids, options.Cluster, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<DescribeTasksRequest>();
                run.SetCluster(c => request.Cluster = c);
                request.Tasks.Add(run.Value(ids) ?? []);
                var response = await run.Tasks.DescribeTasksAsync(request, cancellationToken: run.Cancel);
                if (!run.Printer.Json && response.Tasks.Count == 1 && response.Failures.Count == 0)
                {
                    run.Printer.Details(response.Tasks[0]);
                    return ExitCodes.Ok;
                }

                return Shared.Show(run, response, response.Tasks, Columns, response.Failures);
            });
    }

    private static Command Stop(CliContext context, GlobalOptions options)
    {
        var id = new Argument<string?>("TASK") { Arity = ArgumentArity.ZeroOrOne, Description = "The task id" };
        var reason = new Option<string?>("--reason") { Description = "Why (the task's stoppedReason)" };
        return Verb("stop", "Stops a task (stop code USER_INITIATED)", "orchestrator task stop 3f2c9d0e --reason 'bad config'")
            .With(id, options.Cluster, reason, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<StopTaskRequest>();
                run.Set(id, t => request.Task = t);
                run.SetCluster(c => request.Cluster = c);
                run.Set(reason, r => request.Reason = r);
                var response = await run.Tasks.StopTaskAsync(request, cancellationToken: run.Cancel);
                return Shared.ShowOne(run, response, response.Task);
            });
    }
}
