using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.Placement.Constraints;
using Orchestrator.Scheduler.Placement.Index;
using static Orchestrator.Scheduler.Tests.Placement.Cluster;
using NodePolicy = Orchestrator.Scheduler.Domain.NodePolicy;

namespace Orchestrator.Scheduler.Tests.Placement;

/// <summary>
/// The implicit constraint of a task with features only Docker runs: its verdicts by the node's runtime
/// attribute, its words, added only to such tasks, and honoured by both placement paths.
/// </summary>
internal sealed class RuntimeFilterTests
{
    private static readonly string[] AwsvpcAndLinks = ["networkMode awsvpc", "containerDefinitions[web].links"];

    private static NodeSnapshot OnRuntime(string name, string? runtime, int cpu = 4096, int memory = 8192) =>
        Node(name, cpu: cpu, memory: memory, attributes: runtime is null ? new() { ["zone"] = "a" } : new() { ["runtime"] = runtime, ["zone"] = "a" });

    [TestCase(null, ExpectedResult = RejectReason.None)]
    [TestCase("docker", ExpectedResult = RejectReason.None)]
    [TestCase("containerd", ExpectedResult = RejectReason.Runtime)]
    public RejectReason The_filter_judges_the_node_by_its_runtime_attribute(string? runtime) =>
        new RuntimeFilter(AwsvpcAndLinks).Check(OnRuntime("n", runtime));

    [Test]
    public void The_filter_names_the_runtime_and_the_features()
    {
        var snapshot = Of(OnRuntime("a", "containerd"), OnRuntime("b", "containerd"));
        var workspace = new PlacementWorkspace(snapshot, Request() with { DockerOnly = AwsvpcAndLinks });
        Assert.That(new RuntimeFilter(AwsvpcAndLinks).Explain(RejectReason.Runtime, workspace, [0, 1]),
            Is.EqualTo("runtime containerd cannot run networkMode awsvpc, containerDefinitions[web].links (needs docker)"));
    }

    [Test]
    public void Only_a_task_with_docker_only_features_gets_the_filter()
    {
        Assert.Multiple(() =>
        {
            Assert.That(new NodeFilterPass(Request()).StaticFilters, Is.Empty, "none given");
            Assert.That(new NodeFilterPass(Request() with { DockerOnly = [] }).StaticFilters, Is.Empty, "none");
            Assert.That(new NodeFilterPass(Request() with { DockerOnly = AwsvpcAndLinks }).StaticFilters.Single(), Is.TypeOf<RuntimeFilter>());
            Assert.That(new NodeFilterPass(Request() with { DockerOnly = AwsvpcAndLinks, Policy = new TaskPolicyDemand(true, []) }).StaticFilters.Select(f => f.GetType()),
                Is.EqualTo(new[] { typeof(RuntimeFilter), typeof(NodePolicyFilter) }), "the runtime first: a setting cannot change it");
        });
    }

    private static IEnumerable<TestCaseData> Placements()
    {
        // The containerd node fits the task best (the least room left), so a filter that turned nothing away would choose it.
        var nodes = new[]
        {
            OnRuntime("tight-containerd", "containerd", cpu: 512, memory: 1024),
            OnRuntime("docker", "docker"),
            OnRuntime("old-agent", null, cpu: 8192, memory: 16384),
        };
        yield return new TestCaseData(nodes, Array.Empty<string>(), new[] { "tight-containerd" }).SetName("a task both run: the best fit, containerd");
        yield return new TestCaseData(nodes, AwsvpcAndLinks, new[] { "docker", "old-agent" }).SetName("a docker-only task: a docker node, or one that does not say");
        yield return new TestCaseData(new[] { nodes[0] }, AwsvpcAndLinks, Array.Empty<string>()).SetName("a docker-only task and only containerd: nowhere");
    }

    /// <summary>The scan and the index choose alike, and neither puts a docker-only task on containerd.</summary>
    [TestCaseSource(nameof(Placements))]
    public void Both_placement_paths_honour_the_runtime(NodeSnapshot[] nodes, string[] dockerOnly, string[] allowed)
    {
        var snapshot = Of(nodes);
        var request = Request() with { DockerOnly = dockerOnly };
        var scanned = PlacementEngine.PlaceByScan(request, snapshot, seed: 7);
        Assert.That(IndexedPlacement.Serves(request, snapshot), Is.True, "a one-task request without ports is the index's");
        var indexed = IndexedPlacement.Choose(request, snapshot, seed: 7);
        Assert.Multiple(() =>
        {
            Assert.That(indexed < 0 ? null : snapshot.Nodes[indexed].Name, Is.EqualTo(scanned.Placed.SingleOrDefault()?.Node), "the index chooses what the scan chooses");
            if (allowed.Length == 0)
            {
                Assert.That(scanned.Placed, Is.Empty);
            }
            else
            {
                Assert.That(allowed, Does.Contain(scanned.Placed.Single().Node));
            }
        });
    }

    [Test]
    public void A_docker_only_task_with_only_containerd_nodes_fails_naming_the_runtime()
    {
        var snapshot = Of(
            OnRuntime("a", "containerd"),
            OnRuntime("b", "containerd") with { Policy = new NodePolicy(true, []) },
            OnRuntime("c", "docker", memory: 256),
            Node("d", status: NodeState.Draining));
        var result = PlacementEngine.Place(Request(count: 2) with { DockerOnly = AwsvpcAndLinks }, snapshot, seed: 1);
        Assert.Multiple(() =>
        {
            Assert.That(result.Placed, Is.Empty);
            Assert.That(result.Failed.Select(f => f.Reason), Is.All.EqualTo("CONSTRAINT"), "an implicit constraint");
            Assert.That(result.Failed[0].Detail, Is.EqualTo(
                "2 nodes: runtime containerd cannot run networkMode awsvpc, containerDefinitions[web].links (needs docker); 1 node: draining; 1 node: insufficient memory (needs 512 MiB, best has 256)"));
        });
    }

    /// <summary>The attribute is an ordinary one: a constraint the user writes on it works as on any other.</summary>
    [TestCase("attribute:runtime == containerd", new[] { "c" })]
    [TestCase("attribute:runtime != containerd", new[] { "d", "old" })]
    [TestCase("attribute:runtime == docker", new[] { "d" })]
    public void A_user_constraint_on_the_runtime_attribute_selects_by_it(string expression, string[] expected)
    {
        var snapshot = Of(OnRuntime("c", "containerd"), OnRuntime("d", "docker"), OnRuntime("old", null));
        var constraint = new MemberOfConstraint(expression, ConstraintParser.Parse(expression));
        var result = PlacementEngine.PlaceByScan(Request(count: 6, strategies: [new PlacementStrategy(StrategyKind.SpreadNode)]) with { Constraints = [constraint] }, snapshot, seed: 3);
        Assert.That(NodesOf(result).Distinct().Order(), Is.EqualTo(expected));
    }
}
