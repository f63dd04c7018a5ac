using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>
/// A node an operator deregistered stays removed, with real agent processes on the real Docker engine:
/// its agent stops its containers and exits, an agent started again is refused, and only an agent
/// started with Agent:Rejoin=true brings the node back.
/// </summary>
internal sealed class DeregistrationTests
{
    [Test]
    public async Task A_node_deregistered_with_running_tasks_stays_inactive_while_its_agent_is_started_again_until_it_rejoins()
    {
        await using var cluster = await Cluster.StartAsync(agents: 2);
        var removed = cluster.ClusterNodes[0].Name;
        var kept = cluster.ClusterNodes[1].Name;
        await cluster.RegisterAsync("sleeper", new ContainerDefinition { Name = "main", Image = Docker.TestImage, Command = { "sleep", "3600" }, Memory = 16, StopTimeoutSeconds = 2 });
        var onRemoved = new PlacementConstraint { Type = "memberOf", Expression = $"name == {removed}" };
        var placed = await cluster.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "sleeper", Count = 2, PlacementConstraints = { onRemoved } });
        foreach (var task in placed.Tasks)
        {
            await cluster.WaitForAsync(task.TaskId, TaskStatus.Running);
        }

        await cluster.Nodes.DeregisterNodeAsync(new DeregisterNodeRequest { Name = removed, Force = true });

        // The agent stops what it ran and leaves with exit code 0 (so systemd's Restart=on-failure leaves it stopped).
        var firstExit = cluster.Agent!.WaitForExit();
        var runningAfterExit = Docker.RunningContainersOf(removed);

        // Started again as a plain restart would (a reboot, systemctl start): refused, and it leaves again.
        var retried = cluster.StartAgentProcess(0);
        var secondExit = retried.WaitForExit();
        var node = await cluster.DescribeNodeAsync(0);
        var again = await cluster.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "sleeper", Count = 2 });
        var pinned = await cluster.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "sleeper", PlacementConstraints = { onRemoved } });
        var tasks = await cluster.DescribeAllAsync(placed.Tasks.Select(t => t.TaskId));
        Assert.Multiple(() =>
        {
            Assert.That(firstExit, Is.EqualTo(0), "the agent of a deregistered node exits cleanly");
            Assert.That(runningAfterExit, Is.Empty, "docker ps: the deregistered node's containers were stopped");
            Assert.That(tasks.Select(t => (t.LastStatus, t.StopCode)), Is.All.EqualTo((TaskStatus.Stopped, StopCode.NodeLost)));
            Assert.That(secondExit, Is.EqualTo(0), "an agent started again without Agent:Rejoin is refused and exits");
            Assert.That(retried.StandardOutput, Has.Some.Contains("deregistered"), "it says why");
            Assert.That((node!.Status, node.AgentConnected), Is.EqualTo((NodeStatus.Inactive, false)));
            Assert.That(again.Tasks.Select(t => t.Node), Is.All.EqualTo(kept), "new tasks go to the other node only");
            Assert.That(pinned.Failures.Select(f => f.Reason), Is.EqualTo(new[] { "CONSTRAINT" }), "nothing can be placed on the removed node");
        });

        // Deliberately registered again: the node is ACTIVE and takes tasks.
        await cluster.StartAgentAsync(0, "--Agent:Rejoin=true");
        var back = await cluster.DescribeNodeAsync(0);
        var onceBack = await cluster.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "sleeper", PlacementConstraints = { onRemoved } });
        Assert.Multiple(() =>
        {
            Assert.That((back!.Status, back.AgentConnected), Is.EqualTo((NodeStatus.Active, true)));
            Assert.That(onceBack.Tasks.Select(t => t.Node), Is.EqualTo(new[] { removed }));
        });
        await cluster.WaitForAsync(onceBack.Tasks[0].TaskId, TaskStatus.Running);
    }
}
