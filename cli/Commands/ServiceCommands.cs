using System.CommandLine;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using static Orchestrator.Cli.CommandExtensions;

namespace Orchestrator.Cli.Commands;

/// <summary>orchestrator service create|update|deploy|scale|describe|ls|delete|update-primary-task-set (ServiceService).</summary>
internal static class ServiceCommands
{
    public static readonly string[] Columns =
        ["name", "status", "taskDefinition", "desiredCount", "runningCount", "pendingCount", "schedulingStrategy", "createdAt"];

    public static Command Create(CliContext context, GlobalOptions options) =>
        new Command("service", "Services: keep a number of tasks running and roll out new revisions")
            .With(CreateCommand(context, options), Update(context, options, "update", wait: false), Update(context, options, "deploy", wait: true),
                Scale(context, options), Describe(context, options), Endpoints(context, options), List(context, options), Delete(context, options), UpdatePrimaryTaskSet(context, options));

    private static Option<bool> Wait() => new("--wait")
    {
        Description = "Follow the deployment until it completes (exit 0), cannot place its tasks (exit 2) or fails (exit 1)",
    };

    private static Option<string?> TaskDefinition() => new("--taskdef", "--task-definition") { Description = "FAMILY or FAMILY:REVISION" };

    private static Option<int?> DesiredCount() => new("--desired-count") { Description = "How many tasks to keep running" };

    private static Command CreateCommand(CliContext context, GlobalOptions options)
    {
        var name = new Argument<string?>("NAME") { Arity = ArgumentArity.ZeroOrOne, Description = "The service's name" };
        var definition = TaskDefinition();
        var desired = DesiredCount();
        var strategy = new Option<string?>("--scheduling-strategy") { Description = "REPLICA (default) or DAEMON (one task per node)" };
        var minimumHealthy = new Option<int?>("--minimum-healthy-percent") { Description = "Rollouts keep at least this % running (0..100) [default: 100]" };
        var maximum = new Option<int?>("--maximum-percent") { Description = "Rollouts run at most this % (100..200) [default: 200]" };
        var breaker = new Option<bool>("--circuit-breaker") { Description = "Fail a deployment whose tasks keep failing" };
        var rollback = new Option<bool>("--rollback") { Description = "With --circuit-breaker: roll a failed deployment back to the last completed one" };
        var tags = Shared.Tags();
        var balancers = new Option<string[]>("--load-balancer")
        {
            Description = "Register the tasks' CONTAINER:PORT in target group TG (repeatable, at most 5)",
            HelpName = "TG:CONTAINER:PORT",
            AllowMultipleArgumentsPerToken = false,
        };
        var controller = new Option<string?>("--deployment-controller") { Description = "ECS (default: rolling deployments) or EXTERNAL (task sets; --taskdef optional)" };
        var wait = Wait();
        return Verb("create", "Creates a service", "orchestrator service create web --taskdef web:3 --desired-count 3 --wait",
                "orchestrator service create web --taskdef web:3 --desired-count 3 --load-balancer web-tg:app:80")
            .With(name, options.Cluster, definition, desired, strategy, minimumHealthy, maximum, breaker, rollback, tags, balancers, controller, wait, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<CreateServiceRequest>();
                run.Set(name, n => request.ServiceName = n);
                run.SetCluster(c => request.Cluster = c);
                run.Set(definition, d => request.TaskDefinition = d);
                run.Set(desired, d => request.DesiredCount = d);
                run.Set(strategy, s => request.SchedulingStrategy = s);
                run.Set(minimumHealthy, m => Deployment(request).MinimumHealthyPercent = m);
                run.Set(maximum, m => Deployment(request).MaximumPercent = m);
                run.Set(breaker, b => Breaker(Deployment(request)).Enable = b);
                run.Set(rollback, r => Breaker(Deployment(request)).Rollback = r);
                request.Tags.Add(Shared.ParseTags(run.Value(tags)));
                request.LoadBalancers.Add(ParseLoadBalancers(run.Value(balancers)));
                run.Set(controller, c => request.DeploymentController = new DeploymentController { Type = c });
                var response = await run.Services.CreateServiceAsync(request, cancellationToken: run.Cancel);
                Shared.ShowOne(run, response, response.Service);
                return run.Value(wait) ? await new ServiceRollout(run, response.Service.Cluster, response.Service.Name).FollowAsync(response.Service) : ExitCodes.Ok;
            });
    }

    private static Command Update(CliContext context, GlobalOptions options, string verb, bool wait)
    {
        var name = new Argument<string?>("NAME") { Arity = ArgumentArity.ZeroOrOne, Description = "The service" };
        var definition = TaskDefinition();
        var desired = DesiredCount();
        var force = new Option<bool>("--force-new-deployment") { Description = "Start a new deployment even with nothing changed (replaces every task)" };
        var waitOption = Wait();
        var command = wait
            ? Verb(verb, "Updates a service and follows the deployment (service update --wait)", "orchestrator service deploy web --taskdef web:4")
            : Verb(verb, "Updates a service: a new task definition (or --force-new-deployment) starts a rolling deployment",
                "orchestrator service update web --taskdef web:4 --desired-count 5 --wait");
        command.With(name, options.Cluster, definition, desired, force, options.CliInputJson);
        if (!wait)
        {
            command.With(waitOption);
        }

        return command.Runs(context, options, async run =>
        {
            var request = run.Request<UpdateServiceRequest>();
            run.Set(name, n => request.Service = n);
            run.SetCluster(c => request.Cluster = c);
            run.Set(definition, d => request.TaskDefinition = d);
            run.Set(desired, d => request.DesiredCount = d);
            run.Set(force, f => request.ForceNewDeployment = f);
            var response = await run.Services.UpdateServiceAsync(request, cancellationToken: run.Cancel);
            Shared.ShowOne(run, response, response.Service);
            return wait || run.Value(waitOption) ? await new ServiceRollout(run, response.Service.Cluster, response.Service.Name).FollowAsync(response.Service) : ExitCodes.Ok;
        });
    }

    private static Command Scale(CliContext context, GlobalOptions options)
    {
        var name = new Argument<string>("NAME") { Description = "The service" };
        var count = new Argument<int>("COUNT") { Description = "The new desired count" };
        var wait = Wait();
        return Verb("scale", "Sets a service's desired count", "orchestrator service scale web 5")
            .With(name, count, options.Cluster, wait)
            .Runs(context, options, async run =>
            {
                var request = new UpdateServiceRequest { Service = run.Value(name)!, DesiredCount = run.Value(count) };
                run.SetCluster(c => request.Cluster = c);
                var response = await run.Services.UpdateServiceAsync(request, cancellationToken: run.Cancel);
                Shared.ShowOne(run, response, response.Service);
                return run.Value(wait) ? await new ServiceRollout(run, response.Service.Cluster, response.Service.Name).FollowAsync(response.Service) : ExitCodes.Ok;
            });
    }

    private static Command Endpoints(CliContext context, GlobalOptions options)
    {
        var name = new Argument<string?>("NAME") { Arity = ArgumentArity.ZeroOrOne, Description = "The service" };
        var healthyOnly = new Option<bool>("--healthy-only") { Description = "Only healthy endpoints (and those of tasks nothing checks)" };
        return Verb("endpoints", "The service's running tasks' addresses, ports and health, for clients that balance on their own (ListServiceEndpoints)",
                "orchestrator service endpoints web --healthy-only")
            .With(name, options.Cluster, healthyOnly, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<ListServiceEndpointsRequest>();
                run.SetCluster(c => request.Cluster = c);
                run.Set(name, n => request.Service = n);
                if (run.Value(healthyOnly))
                {
                    request.HealthyOnly = true;
                }

                var response = await run.Services.ListServiceEndpointsAsync(request, cancellationToken: run.Cancel);
                if (run.Printer.Json)
                {
                    run.Printer.Message(response);
                }
                else
                {
                    run.Printer.Table(response.Endpoints, "taskId", "node", "host", "port", "containerName", "containerPort", "protocol", "health", "taskSet");
                }

                return ExitCodes.Ok;
            });
    }

    private static Command Describe(CliContext context, GlobalOptions options)
    {
        var names = new Argument<string[]>("NAME") { Arity = ArgumentArity.ZeroOrMore, Description = "Services to describe" };
        return Verb("describe", "Describes services: counts, deployments and recent events", "orchestrator service describe web")
            .With(names, options.Cluster, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<DescribeServicesRequest>();
                run.SetCluster(c => request.Cluster = c);
                request.Services.Add(run.Value(names) ?? []);
                var response = await run.Services.DescribeServicesAsync(request, cancellationToken: run.Cancel);
                if (!run.Printer.Json && response.Services.Count == 1 && response.Failures.Count == 0)
                {
                    var service = response.Services[0];
                    run.Printer.Table([service], Columns);
                    run.Printer.Line("");
                    run.Printer.Table(service.Deployments, "id", "status", "taskDefinition", "desiredCount", "runningCount", "pendingCount", "failedTasks", "rolloutState", "rolloutStateReason");
                    run.Printer.Line("");
                    run.Printer.Table(service.Events.Take(10), "createdAt", "message");
                    return ExitCodes.Ok;
                }

                return Shared.Show(run, response, response.Services, Columns, response.Failures);
            });
    }

    private static Command List(CliContext context, GlobalOptions options)
    {
        var max = Shared.MaxResults();
        var next = Shared.NextToken();
        return Verb("ls", "Lists services (json: the ListServices answer; table: each service described)", "orchestrator service ls --cluster staging")
            .With(options.Cluster, max, next, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<ListServicesRequest>();
                run.SetCluster(c => request.Cluster = c);
                run.Set(max, m => request.MaxResults = m);
                run.Set(next, n => request.NextToken = n);
                var response = await run.Services.ListServicesAsync(request, cancellationToken: run.Cancel);
                if (run.Printer.Json)
                {
                    run.Printer.Message(response);
                    return ExitCodes.Ok;
                }

                var services = new List<Service>();
                foreach (var chunk in response.ServiceNames.Chunk(10))
                {
                    var described = await run.Services.DescribeServicesAsync(new DescribeServicesRequest { Cluster = request.Cluster, Services = { chunk } }, cancellationToken: run.Cancel);
                    services.AddRange(described.Services);
                }

                run.Printer.Table(services, Columns);
                Shared.MorePages(run, response.NextToken);
                return ExitCodes.Ok;
            });
    }

    private static Command Delete(CliContext context, GlobalOptions options)
    {
        var name = new Argument<string?>("NAME") { Arity = ArgumentArity.ZeroOrOne, Description = "The service" };
        var force = new Option<bool>("--force") { Description = "Scale to zero first (else a service with a desired count is refused)" };
        return Verb("delete", "Deletes a service", "orchestrator service delete web --force")
            .With(name, options.Cluster, force, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<DeleteServiceRequest>();
                run.Set(name, n => request.Service = n);
                run.SetCluster(c => request.Cluster = c);
                run.Set(force, f => request.Force = f);
                var response = await run.Services.DeleteServiceAsync(request, cancellationToken: run.Cancel);
                return Shared.ShowOne(run, response, response.Service);
            });
    }

    private static Command UpdatePrimaryTaskSet(CliContext context, GlobalOptions options)
    {
        var name = new Argument<string?>("NAME") { Arity = ArgumentArity.ZeroOrOne, Description = "The service (EXTERNAL deployment controller)" };
        var taskSet = new Argument<string?>("TASK_SET") { Arity = ArgumentArity.ZeroOrOne, Description = "The task set to make PRIMARY" };
        return Verb("update-primary-task-set", "Makes a task set PRIMARY (the one that was becomes ACTIVE; nothing stops)",
                "orchestrator service update-primary-task-set web ecs-svc/0123456789abcdef")
            .With(name, taskSet, options.Cluster, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<UpdateServicePrimaryTaskSetRequest>();
                run.Set(name, n => request.Service = n);
                run.Set(taskSet, t => request.PrimaryTaskSet = t);
                run.SetCluster(c => request.Cluster = c);
                var response = await run.Services.UpdateServicePrimaryTaskSetAsync(request, cancellationToken: run.Cancel);
                return Shared.ShowOne(run, response, response.TaskSet);
            });
    }

    /// <summary>TG:CONTAINER:PORT; the scheduler checks that the group exists and the task definition maps the port.</summary>
    public static IEnumerable<LoadBalancer> ParseLoadBalancers(IEnumerable<string>? values) => (values ?? []).Select(value =>
    {
        var parts = value.Split(':');
        return parts.Length == 3 && parts[0].Length > 0 && parts[1].Length > 0
            && int.TryParse(parts[2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
            ? new LoadBalancer { TargetGroup = parts[0], ContainerName = parts[1], ContainerPort = port }
            : throw new CliException($"--load-balancer: \"{value}\" is not TARGET_GROUP:CONTAINER:PORT (e.g. web-tg:app:80)");
    });

    private static DeploymentConfiguration Deployment(CreateServiceRequest request) => request.DeploymentConfiguration ??= new DeploymentConfiguration();

    private static DeploymentCircuitBreaker Breaker(DeploymentConfiguration configuration) =>
        configuration.DeploymentCircuitBreaker ??= new DeploymentCircuitBreaker();
}
