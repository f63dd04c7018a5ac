using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Integration;

internal sealed class DurabilityTests : SchedulerTest
{
    [Test]
    public async Task Everything_acknowledged_is_back_after_a_restart_and_nodes_wait_for_their_agents()
    {
        await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { Name = "prod" });
        await RegisterAsync();
        await RegisterAsync(WebDefinition(memory: 256));
        await Host.TaskDefinitions.DeregisterTaskDefinitionAsync(new DeregisterTaskDefinitionRequest { TaskDefinition = "web:1" });
        string running, stopped;
        await using (var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", cluster: "prod", attributes: new Dictionary<string, string> { ["zone"] = "b" }))
        {
            var tasks = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { Cluster = "prod", TaskDefinition = "web", Count = 2, ClientToken = "t-1" })).Tasks;
            (running, stopped) = (tasks[0].TaskId, tasks[1].TaskId);
            await agent.ReportAsync(running, TaskStatus.Running);
            await agent.ReportAsync(stopped, TaskStatus.Stopped, exitCode: 1, stopCode: StopCode.EssentialContainerExited, reason: "exit 1");
            await Host.Nodes.UpdateNodeStatusAsync(new UpdateNodeStatusRequest { Cluster = "prod", Name = "n1", Status = NodeStatus.Draining });
        }

        RestartScheduler();

        var clusters = await Host.Clusters.ListClustersAsync(new ListClustersRequest());
        var definitions = await Host.TaskDefinitions.ListTaskDefinitionsAsync(new ListTaskDefinitionsRequest { IncludeAllStatuses = true });
        var node = await NodeAsync("n1", "prod");
        var runningTask = await DescribeAsync(running, "prod");
        var stoppedTask = await DescribeAsync(stopped, "prod");
        var retry = await Host.Tasks.RunTaskAsync(new RunTaskRequest { Cluster = "prod", TaskDefinition = "web", Count = 2, ClientToken = "t-1" });
        var revision = (await Host.TaskDefinitions.RegisterTaskDefinitionAsync(WebDefinition())).TaskDefinition;
        Assert.Multiple(() =>
        {
            Assert.That(clusters.Names, Is.EqualTo(new[] { "default", "prod" }));
            Assert.That(definitions.TaskDefinitionArns, Is.EqualTo(new[] { "web:1", "web:2" }));
            Assert.That(revision.Revision, Is.EqualTo(3), "revision numbers continue");
            Assert.That((node.Status, node.AgentConnected), Is.EqualTo((NodeStatus.Draining, false)));
            Assert.That(node.Attributes["zone"], Is.EqualTo("b"));
            Assert.That((node.RunningTasks, node.Remaining.Memory), Is.EqualTo((1, 8192 - 256)), "usage is rebuilt from the tasks");
            Assert.That((runningTask.LastStatus, runningTask.TaskDefinitionArn), Is.EqualTo((TaskStatus.Running, "web:2")));
            Assert.That((stoppedTask.StopCode, stoppedTask.StoppedReason, stoppedTask.Containers[0].ExitCode), Is.EqualTo((StopCode.EssentialContainerExited, "exit 1", (int?)1)));
            Assert.That(retry.Tasks.Select(t => t.TaskId), Is.EqualTo(new[] { running, stopped }), "the client token survives the restart");
        });
    }

    [Test]
    public async Task A_deleted_default_cluster_is_not_recreated_on_restart()
    {
        await Host.Clusters.DeleteClusterAsync(new DeleteClusterRequest { Name = "default" });
        await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { Name = "only" });
        RestartScheduler();
        var clusters = await Host.Clusters.ListClustersAsync(new ListClustersRequest());
        Assert.That(clusters.Names, Is.EqualTo(new[] { "only" }));
    }
}
