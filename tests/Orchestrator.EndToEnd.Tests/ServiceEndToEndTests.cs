using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>Services on real scheduler and agent processes and the real Docker engine.</summary>
internal sealed class ServiceEndToEndTests
{
    private static ContainerDefinition Httpd(string greeting) => new()
    {
        Name = "web",
        Image = Docker.TestImage,
        Command = { "sh", "-c", $"echo {greeting} > /tmp/index.html && exec httpd -f -p 80 -h /tmp" },
        Memory = 32,
        PortMappings = { new PortMapping { ContainerPort = 80 } },
        StopTimeoutSeconds = 2,
    };

    private static async Task<Service> DescribeAsync(Cluster cluster) =>
        (await new ServiceService.ServiceServiceClient(cluster.Channel).DescribeServicesAsync(new DescribeServicesRequest { Services = { "web" } })).Services.Single();

    private static async Task<List<Contracts.V1.Task>> RunningAsync(Cluster cluster)
    {
        var ids = (await cluster.Tasks.ListTasksAsync(new ListTasksRequest { Service = "web", DesiredStatus = TaskStatus.Running })).TaskIds;
        return ids.Count == 0 ? [] : [.. (await cluster.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { ids } })).Tasks.Where(t => t.LastStatus == TaskStatus.Running)];
    }

    /// <summary>How many of the service's tasks answer HTTP right now, and with what.</summary>
    private static async Task<List<string>> AnswersAsync(Cluster cluster, HttpClient http)
    {
        var ids = (await cluster.Tasks.ListTasksAsync(new ListTasksRequest { Service = "web" })).TaskIds;
        var tasks = ids.Count == 0 ? [] : (await cluster.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { ids } })).Tasks.Where(t => t.LastStatus == TaskStatus.Running).ToList();
        var answers = await Task.WhenAll(tasks.Select(async t =>
        {
            var binding = t.Containers.Single().NetworkBindings.Single();
            try
            {
                return (await http.GetStringAsync($"http://127.0.0.1:{binding.HostPort}/")).Trim();
            }
            catch (HttpRequestException)
            {
                return null;
            }
            catch (TaskCanceledException)
            {
                return null;
            }
        }));
        return [.. answers.Where(a => a is not null).Select(a => a!)];
    }

    [Test]
    public async Task A_killed_service_container_is_replaced_and_a_rolling_update_keeps_serving()
    {
        await using var cluster = await Cluster.StartAsync();
        await cluster.RegisterAsync("web", Httpd("one"));
        await cluster.RegisterAsync("web", Httpd("two"));
        var services = new ServiceService.ServiceServiceClient(cluster.Channel);
        await services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web:1", DesiredCount = 3 });
        await Cluster.EventuallyAsync(async () => (await RunningAsync(cluster)).Count == 3, "three replicas run");

        // docker kill one: the agent reports it, the service starts a replacement.
        var victim = (await RunningAsync(cluster))[0];
        Docker.Run("kill", victim.Containers.Single().RuntimeId);
        await Cluster.EventuallyAsync(async () => (await cluster.DescribeAsync(victim.TaskId)).LastStatus == TaskStatus.Stopped, "the killed task is stopped");
        await Cluster.EventuallyAsync(async () => (await RunningAsync(cluster)).Count == 3, "a replacement runs");
        var afterKill = await RunningAsync(cluster);
        var killed = await cluster.DescribeAsync(victim.TaskId);

        // Roll to web:2 at 100/200: at every look, at least three tasks answer.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", TaskDefinition = "web:2" });
        var fewest = int.MaxValue;
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            fewest = Math.Min(fewest, (await AnswersAsync(cluster, http)).Count);
            var service = await DescribeAsync(cluster);
            if (service.Deployments.Count == 1 && service.Deployments[0].RolloutState == "COMPLETED")
            {
                break;
            }

            await Task.Delay(100);
        }

        var final = await AnswersAsync(cluster, http);
        Assert.Multiple(() =>
        {
            Assert.That((killed.StopCode, killed.Containers.Single().ExitCode), Is.EqualTo((StopCode.EssentialContainerExited, (int?)137)));
            Assert.That(afterKill.Select(t => t.TaskId), Does.Not.Contain(victim.TaskId));
            Assert.That(fewest, Is.GreaterThanOrEqualTo(3), "minimumHealthyPercent 100: never fewer than three serving");
            Assert.That(final, Is.EqualTo(new[] { "two", "two", "two" }));
        });
    }

    [Test]
    public async Task A_revision_whose_container_exits_at_once_trips_the_circuit_breaker_and_rolls_back()
    {
        await using var cluster = await Cluster.StartAsync();
        await cluster.RegisterAsync("web", Httpd("one"));
        await cluster.RegisterAsync("web", new ContainerDefinition { Name = "web", Image = Docker.TestImage, Command = { "sh", "-c", "exit 1" }, Memory = 16 });
        var services = new ServiceService.ServiceServiceClient(cluster.Channel);
        var breaker = new DeploymentConfiguration { DeploymentCircuitBreaker = new DeploymentCircuitBreaker { Enable = true, Rollback = true } };
        await services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web:1", DesiredCount = 2, DeploymentConfiguration = breaker });
        await Cluster.EventuallyAsync(async () => (await DescribeAsync(cluster)).Deployments is [{ RolloutState: "COMPLETED" }], "the first deployment completes");

        await services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", TaskDefinition = "web:2" });
        await Cluster.EventuallyAsync(async () => (await DescribeAsync(cluster)).Events.Any(e => e.Message.Contains("rolling back to web:1", StringComparison.Ordinal)),
            "the circuit breaker trips", seconds: 120);
        await Cluster.EventuallyAsync(async () => (await DescribeAsync(cluster)).Deployments is [{ RolloutState: "COMPLETED", TaskDefinition: "web:1" }], "the rollback completes", seconds: 60);
        var running = await RunningAsync(cluster);
        Assert.That(running.Select(t => t.TaskDefinitionArn), Is.EqualTo(new[] { "web:1", "web:1" }));
    }
}
