using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Integration;

internal sealed class ClusterApiTests : SchedulerTest
{
    [Test]
    public async Task A_default_cluster_exists_from_the_first_start()
    {
        var described = await Host.Clusters.DescribeClustersAsync(new DescribeClustersRequest());
        Assert.That(described.Clusters.Single().Name, Is.EqualTo("default"));
    }

    [Test]
    public async Task Clusters_are_created_listed_described_and_deleted()
    {
        await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { Name = "prod" });
        await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { Name = "dev" });
        var listed = await Host.Clusters.ListClustersAsync(new ListClustersRequest());
        var described = await Host.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Names = { "prod", "nope" } });
        await Host.Clusters.DeleteClusterAsync(new DeleteClusterRequest { Name = "dev" });
        var after = await Host.Clusters.ListClustersAsync(new ListClustersRequest());
        Assert.Multiple(() =>
        {
            Assert.That(listed.Names, Is.EqualTo(new[] { "default", "dev", "prod" }));
            Assert.That(described.Clusters.Single().Name, Is.EqualTo("prod"));
            Assert.That(described.Failures.Single().Reason, Is.EqualTo("MISSING"));
            Assert.That(after.Names, Is.EqualTo(new[] { "default", "prod" }));
        });
    }

    [Test]
    public async Task Listing_pages_with_a_token()
    {
        for (var i = 0; i < 5; i++)
        {
            await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { Name = $"c{i}" });
        }

        var names = new List<string>();
        var token = "";
        var pages = 0;
        do
        {
            var page = await Host.Clusters.ListClustersAsync(new ListClustersRequest { MaxResults = 2, NextToken = token });
            names.AddRange(page.Names);
            token = page.NextToken;
            pages++;
        }
        while (token.Length > 0);

        Assert.That((names, pages), Is.EqualTo((new List<string> { "c0", "c1", "c2", "c3", "c4", "default" }, 3)));
    }

    [Test]
    public async Task A_cluster_with_a_node_or_a_running_task_cannot_be_deleted()
    {
        await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { Name = "prod" });
        await RegisterAsync();
        await using (var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1", cluster: "prod"))
        {
            var withNode = Refused(() => Host.Clusters.DeleteClusterAsync(new DeleteClusterRequest { Name = "prod" }).ResponseAsync);
            Assert.That(withNode.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
            Assert.That(withNode.Status.Detail, Is.EqualTo("name: cluster \"prod\" still has 1 registered nodes; deregister them first"));

            var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { Cluster = "prod", TaskDefinition = "web" });
            await Host.Nodes.DeregisterNodeAsync(new DeregisterNodeRequest { Cluster = "prod", Name = "n1", Force = true });
            Assert.That((await DescribeAsync(run.Tasks[0].TaskId, "prod")).StopCode, Is.EqualTo(StopCode.NodeLost));
        }

        await Host.Clusters.DeleteClusterAsync(new DeleteClusterRequest { Name = "prod" });
        var gone = Refused(() => Host.Nodes.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }).ResponseAsync);
        Assert.That(gone.StatusCode, Is.EqualTo(StatusCode.NotFound));
    }

    [Test]
    public async Task Creating_a_cluster_twice_is_refused()
    {
        var error = Refused(() => Host.Clusters.CreateClusterAsync(new CreateClusterRequest { Name = "default" }).ResponseAsync);
        Assert.That((error.StatusCode, error.Status.Detail), Is.EqualTo((StatusCode.AlreadyExists, "name: cluster \"default\" already exists")));
    }
}
