using System.CommandLine;
using Orchestrator.Contracts.V1;
using static Orchestrator.Cli.CommandExtensions;

namespace Orchestrator.Cli.Commands;

/// <summary>orchestrator target-group create|ls|describe|health|delete (TargetGroupService).</summary>
internal static class TargetGroupCommands
{
    public static readonly string[] Columns = ["name", "protocol", "port", "deregistrationDelaySeconds", "services", "createdAt"];

    public static Command Create(CliContext context, GlobalOptions options) =>
        new Command("target-group", "Target groups: a balancer port and health check that services register their tasks in")
            .With(CreateCommand(context, options), List(context, options), Describe(context, options), Health(context, options), Delete(context, options));

    private static TargetGroupService.TargetGroupServiceClient Client(Invocation run) => new(run.Channel);

    private static Command CreateCommand(CliContext context, GlobalOptions options)
    {
        var name = new Argument<string?>("NAME") { Arity = ArgumentArity.ZeroOrOne, Description = "The target group's name (1 to 32 letters, digits and hyphens)" };
        var port = new Option<int?>("--port") { Description = "The port the balancers listen on for it (1..65535, unique among target groups)" };
        var protocol = new Option<string?>("--protocol") { Description = "HTTP (default) or TCP" };
        var checkProtocol = new Option<string?>("--health-protocol") { Description = "HTTP or TCP [default: the group's protocol]" };
        var path = new Option<string?>("--health-path") { Description = "The HTTP check's path [default: /]" };
        var matcher = new Option<string?>("--matcher") { Description = "HTTP codes a healthy target answers: 200, 200,204 or 200-299 [default: 200]" };
        var interval = new Option<int?>("--interval") { Description = "Seconds between checks (1..300) [default: 5]" };
        var timeout = new Option<int?>("--timeout") { Description = "Seconds a check may take, less than the interval (1..120) [default: 2]" };
        var healthy = new Option<int?>("--healthy-threshold") { Description = "Checks passed in a row to be healthy (1..10) [default: 2]" };
        var unhealthy = new Option<int?>("--unhealthy-threshold") { Description = "Checks failed in a row to be unhealthy (1..10) [default: 2]" };
        var delay = new Option<int?>("--deregistration-delay") { Description = "Seconds a target drains before its task stops (0..3600) [default: 30]" };
        return Verb("create", "Creates a target group (the same settings again answer the one that exists)",
                "orchestrator target-group create web --port 8080 --health-path /healthz --matcher 200-299")
            .With(name, port, protocol, checkProtocol, path, matcher, interval, timeout, healthy, unhealthy, delay, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<CreateTargetGroupRequest>();
                run.Set(name, n => request.Name = n);
                run.Set(port, p => request.Port = p);
                run.Set(protocol, p => request.Protocol = p);
                run.Set(checkProtocol, p => Check(request).Protocol = p);
                run.Set(path, p => Check(request).Path = p);
                run.Set(matcher, m => Check(request).Matcher = m);
                run.Set(interval, i => Check(request).IntervalSeconds = i);
                run.Set(timeout, t => Check(request).TimeoutSeconds = t);
                run.Set(healthy, h => Check(request).HealthyThreshold = h);
                run.Set(unhealthy, u => Check(request).UnhealthyThreshold = u);
                run.Set(delay, d => request.DeregistrationDelaySeconds = d);
                var response = await Client(run).CreateTargetGroupAsync(request, cancellationToken: run.Cancel);
                return Shared.ShowOne(run, response, response.TargetGroup);
            });
    }

    private static TargetGroupHealthCheck Check(CreateTargetGroupRequest request) => request.HealthCheck ??= new TargetGroupHealthCheck();

    private static Command List(CliContext context, GlobalOptions options)
    {
        var max = Shared.MaxResults();
        var next = Shared.NextToken();
        return Verb("ls", "Lists target groups by name", "orchestrator target-group ls")
            .With(max, next, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<ListTargetGroupsRequest>();
                run.Set(max, m => request.MaxResults = m);
                run.Set(next, n => request.NextToken = n);
                var response = await Client(run).ListTargetGroupsAsync(request, cancellationToken: run.Cancel);
                return Shared.PrintNames(run, response, "names", response.Names, response.NextToken);
            });
    }

    private static Command Describe(CliContext context, GlobalOptions options)
    {
        var names = new Argument<string[]>("NAME") { Arity = ArgumentArity.ZeroOrMore, Description = "Target groups to describe [default: all]" };
        return Verb("describe", "Describes target groups: port, health check and the services that use them", "orchestrator target-group describe web")
            .With(names, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<DescribeTargetGroupsRequest>();
                request.Names.Add(run.Value(names) ?? []);
                var response = await Client(run).DescribeTargetGroupsAsync(request, cancellationToken: run.Cancel);
                if (!run.Printer.Json && response.TargetGroups.Count == 1 && response.Failures.Count == 0)
                {
                    var group = response.TargetGroups[0];
                    run.Printer.Details(group);
                    return ExitCodes.Ok;
                }

                return Shared.Show(run, response, response.TargetGroups, Columns, response.Failures);
            });
    }

    private static Command Health(CliContext context, GlobalOptions options)
    {
        var name = new Argument<string?>("NAME") { Arity = ArgumentArity.ZeroOrOne, Description = "The target group" };
        return Verb("health", "Every target of a target group with its state as the balancers see it (DescribeTargetHealth)", "orchestrator target-group health web")
            .With(name, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<DescribeTargetHealthRequest>();
                run.Set(name, n => request.TargetGroup = n);
                var response = await Client(run).DescribeTargetHealthAsync(request, cancellationToken: run.Cancel);
                if (run.Printer.Json)
                {
                    run.Printer.Message(response);
                }
                else
                {
                    run.Printer.Table(response.Targets, "target.id", "target.host", "target.port", "target.node", "target.service", "health.state", "health.reason", "health.description", "weight", "currentConnections");
                }

                return ExitCodes.Ok;
            });
    }

    private static Command Delete(CliContext context, GlobalOptions options)
    {
        var name = new Argument<string?>("NAME") { Arity = ArgumentArity.ZeroOrOne, Description = "The target group" };
        return Verb("delete", "Deletes a target group (refused while a service uses it)", "orchestrator target-group delete web")
            .With(name, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<DeleteTargetGroupRequest>();
                run.Set(name, n => request.Name = n);
                var response = await Client(run).DeleteTargetGroupAsync(request, cancellationToken: run.Cancel);
                return Shared.ShowOne(run, response, response.TargetGroup);
            });
    }
}
