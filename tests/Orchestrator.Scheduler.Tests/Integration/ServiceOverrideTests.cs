using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// Services' overrides: they belong to a deployment, as the task definition does. The service's tasks
/// are placed with their sizes and carry them to their agents; changing them rolls out a new deployment.
/// </summary>
internal sealed class ServiceOverrideTests : SchedulerTest
{
    private ServiceService.ServiceServiceClient Services => new(Host.Channel);

    private async Task<Service> DescribeServiceAsync() =>
        (await Services.DescribeServicesAsync(new DescribeServicesRequest { Services = { "web" } })).Services.Single();

    private async Task<List<Contracts.V1.Task>> LiveTasksAsync()
    {
        var ids = (await Host.Tasks.ListTasksAsync(new ListTasksRequest { Service = "web", DesiredStatus = TaskStatus.Running })).TaskIds;
        return ids.Count == 0 ? [] : [.. (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { ids } })).Tasks];
    }

    /// <summary>Runs reconcile passes (one per fake second) until the primary deployment completes, the agents answering between them.</summary>
    private async Task<Service> RolledOutAsync(params SimulatedAgent[] agents)
    {
        for (var i = 0; i < 30 && (await DescribeServiceAsync()).Deployments[0].RolloutState != "COMPLETED"; i++)
        {
            Host.Clock.Advance(TimeSpan.FromSeconds(1));
            foreach (var agent in agents)
            {
                await agent.SettleAsync();
            }
        }

        var service = await DescribeServiceAsync();
        Assert.That(service.Deployments[0].RolloutState, Is.EqualTo("COMPLETED"), "the rollout completes");
        return service;
    }

    private static TaskOverride Batch(string mode = "batch", int memory = 256) => new()
    {
        ContainerOverrides =
        {
            new ContainerOverride
            {
                Name = "app",
                Command = { "echo", mode },
                Environment = { new EnvironmentVariable { Name = "MODE", Value = mode } },
                Memory = memory,
            },
        },
    };

    [Test]
    public async Task A_service_created_with_overrides_places_with_their_sizes_and_its_tasks_carry_them()
    {
        await RegisterAsync(); // app: 256 cpu, 512 MiB
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", memory: 400);
        var created = (await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 1, Overrides = Batch() })).Service;

        var start = (await agent.NextCommandAsync()).StartTask;
        var task = await DescribeAsync(start.TaskId);
        var node = await NodeAsync("n1");
        Assert.Multiple(() =>
        {
            Assert.That(created.Overrides, Is.EqualTo(Batch()));
            Assert.That(created.Deployments.Single().Overrides, Is.EqualTo(Batch()));
            Assert.That(start.Overrides, Is.EqualTo(Batch()), "the agent applies them");
            Assert.That(start.TaskDefinition.ContainerDefinitions[0].Command, Is.EqualTo(new[] { "httpd", "-f", "-p", "80" }), "the definition itself is sent unchanged");
            Assert.That((task.Overrides, task.Memory), Is.EqualTo((Batch(), 256)), "the definition's 512 MiB would not fit in 400");
            Assert.That(node.Remaining.Memory, Is.EqualTo(400 - 256), "the node reserved the overridden size");
        });
    }

    [Test]
    public async Task New_overrides_roll_out_a_new_deployment_the_same_ones_change_nothing_and_a_reset_clears_them()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        agent.RunAutomatically();
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 2, Overrides = Batch("first") });
        var first = await RolledOutAsync(agent);

        var updated = (await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", Overrides = Batch("second", memory: 300) })).Service;
        var second = await RolledOutAsync(agent);
        var secondTasks = await LiveTasksAsync();

        var same = (await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", Overrides = Batch("second", memory: 300) })).Service;
        var empty = (await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", Overrides = new TaskOverride(), DesiredCount = 2 })).Service;

        var reset = (await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", ResetOverrides = true })).Service;
        var cleared = await RolledOutAsync(agent);
        var clearedTasks = await LiveTasksAsync();
        Assert.Multiple(() =>
        {
            Assert.That(updated.Deployments.Select(d => (d.Status, d.TaskDefinition)), Is.EqualTo(new[] { ("PRIMARY", "web:1"), ("ACTIVE", "web:1") }), "a new deployment of the same definition");
            Assert.That(updated.Deployments.Select(d => d.Overrides), Is.EqualTo(new[] { Batch("second", memory: 300), Batch("first") }), "each deployment shows its own");
            Assert.That(updated.Events[0].Message, Is.EqualTo("service web started a deployment of web:1 with new overrides"));
            Assert.That(second.Deployments.Single().Id, Is.EqualTo(updated.Deployments[0].Id), "the old deployment is gone once replaced");
            Assert.That(second.Deployments.Single().Id, Is.Not.EqualTo(first.Deployments.Single().Id));
            Assert.That(secondTasks.Select(t => (t.Overrides, t.Memory)), Is.EqualTo(new[] { (Batch("second", memory: 300), 300), (Batch("second", memory: 300), 300) }), "the tasks were replaced");

            Assert.That(same.Deployments.Select(d => d.Id), Is.EqualTo(second.Deployments.Select(d => d.Id)), "the same overrides again: no deployment");
            Assert.That(empty.Deployments.Select(d => d.Id), Is.EqualTo(second.Deployments.Select(d => d.Id)), "empty overrides keep them");
            Assert.That(empty.Overrides, Is.EqualTo(Batch("second", memory: 300)));

            Assert.That(reset.Deployments.Count, Is.EqualTo(2), "a reset is a new deployment");
            Assert.That(reset.Overrides, Is.Null);
            Assert.That(reset.Deployments[1].Overrides, Is.EqualTo(Batch("second", memory: 300)));
            Assert.That(reset.Events[0].Message, Is.EqualTo("service web started a deployment of web:1 with no overrides"));
            Assert.That(cleared.Deployments.Single().Overrides, Is.Null);
            Assert.That(clearedTasks.Select(t => (t.Overrides, t.Memory)), Is.EqualTo(new[] { ((TaskOverride?)null, 512), (null, 512) }), "the definition's again");
        });
    }

    [Test]
    public async Task Bad_overrides_are_refused_with_the_field_and_change_nothing()
    {
        await RegisterAsync();
        var renamed = WebDefinition();
        renamed.ContainerDefinitions[0].Name = "main";
        await RegisterAsync(renamed); // web:2 has no container "app"
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");

        var missing = Refused(() => Services.CreateServiceAsync(new CreateServiceRequest
        {
            ServiceName = "web", TaskDefinition = "web:1", DesiredCount = 1,
            Overrides = new TaskOverride { ContainerOverrides = { new ContainerOverride { Name = "x", Command = { "true" } } } },
        }).ResponseAsync);
        var nothingCreated = await Services.ListServicesAsync(new ListServicesRequest());

        var before = (await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web:1", DesiredCount = 1, Overrides = Batch() })).Service;
        var reservation = Refused(() => Services.UpdateServiceAsync(new UpdateServiceRequest
        {
            Service = "web", DesiredCount = 5,
            Overrides = new TaskOverride { ContainerOverrides = { new ContainerOverride { Name = "app", MemoryReservation = 1024 } } },
        }).ResponseAsync);
        var syntax = Refused(() => Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 5, Overrides = Batch(memory: 2) }).ResponseAsync);
        var kept = Refused(() => Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 5, TaskDefinition = "web:2" }).ResponseAsync);
        var after = await DescribeServiceAsync();
        Assert.Multiple(() =>
        {
            Assert.That((missing.StatusCode, missing.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "overrides.containerOverrides[0].name: no container named \"x\" in web:1")));
            Assert.That(nothingCreated.ServiceNames, Is.Empty, "no service was created");
            Assert.That((reservation.StatusCode, reservation.Status.Detail),
                Is.EqualTo((StatusCode.InvalidArgument, "overrides.containerOverrides[0].memoryReservation: 1024 MiB is more than the hard limit, memory = 512 MiB")));
            Assert.That((syntax.StatusCode, syntax.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "overrides.containerOverrides[0].memory: must be at least 6 MiB")));
            Assert.That((kept.StatusCode, kept.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "overrides.containerOverrides[0].name: no container named \"app\" in web:2")),
                "the overrides the service keeps are checked against its new definition");
            Assert.That(after.Deployments.Select(d => (d.Id, d.TaskDefinition)), Is.EqualTo(before.Deployments.Select(d => (d.Id, d.TaskDefinition))), "no deployment");
            Assert.That((after.DesiredCount, after.Overrides), Is.EqualTo((1, Batch())), "nothing else of the update either");
        });
    }

    [Test]
    public async Task A_daemon_service_places_every_node_s_task_with_the_overridden_sizes()
    {
        await RegisterAsync(); // 512 MiB: fits on neither node without the override
        await using var a = await SimulatedAgent.ConnectAsync(Host.Agents, "a", memory: 400);
        await using var b = await SimulatedAgent.ConnectAsync(Host.Agents, "b", memory: 400);
        await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", SchedulingStrategy = "DAEMON", Overrides = Batch() });

        var starts = new[] { (await a.NextCommandAsync()).StartTask, (await b.NextCommandAsync()).StartTask };
        var nodes = new[] { await NodeAsync("a"), await NodeAsync("b") };
        Assert.Multiple(() =>
        {
            Assert.That(starts.Select(s => s.Overrides), Is.All.EqualTo(Batch()));
            Assert.That(nodes.Select(n => n.Remaining.Memory), Is.All.EqualTo(400 - 256));
        });
    }

    [Test]
    public async Task A_service_s_overrides_survive_a_scheduler_restart()
    {
        await RegisterAsync();
        var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var created = (await Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 1, Overrides = Batch() })).Service;
        var first = (await agent.NextCommandAsync()).StartTask.TaskId;
        await agent.ReportAsync(first, TaskStatus.Running);
        await agent.DisposeAsync();

        RestartScheduler();
        var restarted = await DescribeServiceAsync();
        await using var back = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", running: [SimulatedAgent.Report(first, TaskStatus.Running)]);
        var same = (await Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 2, Overrides = Batch() })).Service;
        var start = (await back.NextCommandAsync()).StartTask;
        Assert.Multiple(() =>
        {
            Assert.That(restarted.Overrides, Is.EqualTo(Batch()));
            Assert.That(restarted.Deployments.Single().Overrides, Is.EqualTo(Batch()));
            Assert.That(same.Deployments.Single().Id, Is.EqualTo(created.Deployments.Single().Id), "the stored overrides are the same as the request's: no deployment");
            Assert.That(start.Overrides, Is.EqualTo(Batch()), "a task started after the restart carries them");
        });
    }
}
