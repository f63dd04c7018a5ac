using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.Placement.Index;
using static Orchestrator.Scheduler.Tests.Placement.Cluster;
using NodePolicy = Orchestrator.Scheduler.Domain.NodePolicy;
using PlacementRequest = Orchestrator.Scheduler.Placement.PlacementRequest;

namespace Orchestrator.Scheduler.Tests.Placement;

/// <summary>
/// The node policy in placement: what a definition needs of it, host paths compared by segments, the
/// filter's verdicts and words, and both placement paths (the scan and the index) honouring it.
/// </summary>
internal sealed class NodePolicyFilterTests
{
    private static readonly NodePolicy Privileged = new(true, []);

    private static NodePolicy Paths(params string[] paths) => new(false, paths);

    private static TaskPolicyDemand Needs(bool privileged = false, params string[] paths) => new(privileged, paths);

    [TestCase("/data", ExpectedResult = "/data")]
    [TestCase("/data/", ExpectedResult = "/data")]
    [TestCase("//data//x/./y/", ExpectedResult = "/data/x/y")]
    [TestCase("/data/../etc", ExpectedResult = "/etc")]
    [TestCase("/data/x/..", ExpectedResult = "/data")]
    [TestCase("/..", ExpectedResult = "/")]
    [TestCase("/", ExpectedResult = "/")]
    [TestCase("data", ExpectedResult = null)]
    [TestCase("", ExpectedResult = null)]
    public string? A_host_path_is_made_canonical(string path) => HostPath.Canonical(path);

    [TestCase("/data", "/data", ExpectedResult = true)]
    [TestCase("/data/x/y", "/data", ExpectedResult = true)]
    [TestCase("/data2", "/data", ExpectedResult = false)]
    [TestCase("/data2/x", "/data", ExpectedResult = false)]
    [TestCase("/dat", "/data", ExpectedResult = false)]
    [TestCase("/data", "/data/x", ExpectedResult = false)]
    [TestCase("/anything/at/all", "/", ExpectedResult = true)]
    [TestCase("relative/x", "/", ExpectedResult = false)]
    public bool A_path_is_under_a_directory_by_segments(string path, string directory) => HostPath.IsUnder(path, directory);

    private static IEnumerable<TestCaseData> Verdicts()
    {
        yield return new TestCaseData(Needs(privileged: true), NodePolicy.None, RejectReason.Privileged).SetName("privileged on a node that allows nothing");
        yield return new TestCaseData(Needs(privileged: true), Paths("/srv"), RejectReason.Privileged).SetName("privileged on a node that allows host paths only");
        yield return new TestCaseData(Needs(privileged: true), Privileged, RejectReason.None).SetName("privileged on a node that allows it");
        yield return new TestCaseData(Needs(false, "/srv/x"), NodePolicy.None, RejectReason.HostPath).SetName("a host path on a node that allows none");
        yield return new TestCaseData(Needs(false, "/srv/x"), Paths("/srv"), RejectReason.None).SetName("a host path under an allowed directory");
        yield return new TestCaseData(Needs(false, "/srv"), Paths("/srv"), RejectReason.None).SetName("a host path that is the allowed directory");
        yield return new TestCaseData(Needs(false, "/data2/x"), Paths("/data"), RejectReason.HostPath).SetName("a string prefix is not a directory prefix");
        yield return new TestCaseData(Needs(false, "/srv/x", "/var/lib/y"), Paths("/srv", "/opt"), RejectReason.HostPath).SetName("every host path must be allowed");
        yield return new TestCaseData(Needs(false, "/srv/x", "/var/lib/y"), Paths("/opt", "/var/lib", "/srv"), RejectReason.None).SetName("each host path under any allowed directory");
        yield return new TestCaseData(Needs(true, "/srv/x"), new NodePolicy(true, ["/srv"]), RejectReason.None).SetName("privileged and a host path, both allowed");
        yield return new TestCaseData(Needs(true, "/srv/x"), Privileged, RejectReason.HostPath).SetName("privileged allowed, the host path not");
    }

    [TestCaseSource(nameof(Verdicts))]
    public void The_filter_judges_the_node_by_its_policy(TaskPolicyDemand demand, NodePolicy policy, RejectReason expected) =>
        Assert.That(new NodePolicyFilter(demand).Check(Node("n") with { Policy = policy }), Is.EqualTo(expected));

    private static IEnumerable<TestCaseData> Words()
    {
        yield return new TestCaseData(Needs(privileged: true), new[] { NodePolicy.None, Paths("/srv") }, RejectReason.Privileged,
            "privileged containers are not allowed (Agent:AllowPrivileged)").SetName("privileged names the setting");
        yield return new TestCaseData(Needs(false, "/srv/x"), new[] { NodePolicy.None, Paths("/opt") }, RejectReason.HostPath,
            "host path /srv/x is outside the node's Agent:AllowedHostPaths").SetName("a host path names the path and the setting");
        yield return new TestCaseData(Needs(false, "/srv/x", "/opt/y"), new[] { Paths("/opt"), Paths("/srv") }, RejectReason.HostPath,
            "host paths /opt/y, /srv/x are outside the node's Agent:AllowedHostPaths").SetName("host paths name each path some node turned away");
    }

    [TestCaseSource(nameof(Words))]
    public void The_filter_explains_in_its_own_words(TaskPolicyDemand demand, NodePolicy[] policies, RejectReason reason, string words)
    {
        var snapshot = Of([.. policies.Select((p, i) => Node($"n{i}") with { Policy = p })]);
        var filter = new NodePolicyFilter(demand);
        var workspace = new PlacementWorkspace(snapshot, Request() with { Policy = demand });
        Assert.Multiple(() =>
        {
            Assert.That(Enumerable.Range(0, policies.Length).Select(n => filter.Check(snapshot.Nodes[n])), Is.All.EqualTo(reason));
            Assert.That(filter.Explain(reason, workspace, [.. Enumerable.Range(0, policies.Length)]), Is.EqualTo(words));
        });
    }

    [Test]
    public void A_task_that_needs_nothing_adds_no_filter()
    {
        Assert.Multiple(() =>
        {
            Assert.That(new NodeFilterPass(Request()).StaticFilters, Is.Empty, "no policy");
            Assert.That(new NodeFilterPass(Request() with { Policy = TaskPolicyDemand.Nothing }).StaticFilters, Is.Empty, "a policy demand of nothing");
            Assert.That(new NodeFilterPass(Request() with { Policy = Needs(privileged: true) }).StaticFilters.Single(), Is.TypeOf<NodePolicyFilter>());
        });
    }

    private static IEnumerable<TestCaseData> Definitions()
    {
        TaskDefinition Spec(bool privileged, params Volume[] volumes)
        {
            var spec = new TaskDefinition { ContainerDefinitions = { new ContainerDefinition { Name = "a" }, new ContainerDefinition { Name = "b", Privileged = privileged } } };
            spec.Volumes.AddRange(volumes);
            return spec;
        }

        Volume Host(string name, string path) => new() { Name = name, Host = new HostVolumeProperties { SourcePath = path } };
        Volume Docker(string name) => new() { Name = name, DockerVolumeConfiguration = new DockerVolumeConfiguration { Driver = "local" } };

        yield return new TestCaseData(Spec(false), false, Array.Empty<string>()).SetName("nothing");
        yield return new TestCaseData(Spec(false, Docker("d"), new Volume { Name = "scratch" }), false, Array.Empty<string>()).SetName("docker and task-scoped volumes need nothing");
        yield return new TestCaseData(Spec(true), true, Array.Empty<string>()).SetName("one privileged container");
        yield return new TestCaseData(Spec(false, Host("a", "/srv/a/"), Docker("d"), Host("b", "/var//lib/./b"), Host("c", "/srv/a")), false, new[] { "/srv/a", "/var/lib/b" })
            .SetName("host volumes, canonical, each path once");
    }

    [TestCaseSource(nameof(Definitions))]
    public void A_definition_needs_what_its_containers_and_volumes_ask_for(TaskDefinition spec, bool privileged, string[] paths)
    {
        var demand = TaskPolicyDemand.Of(spec);
        Assert.Multiple(() =>
        {
            Assert.That(demand.Privileged, Is.EqualTo(privileged));
            Assert.That(demand.HostPaths, Is.EqualTo(paths));
            Assert.That(demand.IsNothing, Is.EqualTo(!privileged && paths.Length == 0));
            if (demand.IsNothing)
            {
                Assert.That(demand, Is.SameAs(TaskPolicyDemand.Nothing), "shared, so a definition that needs nothing allocates nothing");
            }
        });
    }

    private static IEnumerable<TestCaseData> Placements()
    {
        // "a" fits best by size (the most room), so a policy that turned nothing away would choose it.
        var nodes = new[]
        {
            Node("a", cpu: 8192, memory: 16384),
            Node("b") with { Policy = Privileged },
            Node("c", cpu: 2048, memory: 4096) with { Policy = Paths("/srv") },
            Node("d", cpu: 2048, memory: 4096) with { Policy = new NodePolicy(true, ["/data"]) },
        };
        yield return new TestCaseData(nodes, null, null).SetName("needing nothing, any node");
        yield return new TestCaseData(nodes, Needs(privileged: true), new[] { "b", "d" }).SetName("privileged: the nodes that allow it");
        yield return new TestCaseData(nodes, Needs(false, "/srv/x"), new[] { "c" }).SetName("a host path: the node that allows it");
        yield return new TestCaseData(nodes, Needs(true, "/data/db"), new[] { "d" }).SetName("both: the node that allows both");
        yield return new TestCaseData(nodes, Needs(false, "/data2"), Array.Empty<string>()).SetName("no node allows it");
    }

    /// <summary>The scan and the index choose alike, and neither puts a task where the policy forbids.</summary>
    [TestCaseSource(nameof(Placements))]
    public void Both_placement_paths_honour_the_policy(NodeSnapshot[] nodes, TaskPolicyDemand? demand, string[]? allowed)
    {
        var snapshot = Of(nodes);
        var request = Request() with { Policy = demand };
        var scanned = PlacementEngine.PlaceByScan(request, snapshot, seed: 7);
        Assert.That(IndexedPlacement.Serves(request, snapshot), Is.True, "a one-task request without ports is the index's");
        var indexed = IndexedPlacement.Choose(request, snapshot, seed: 7);
        Assert.Multiple(() =>
        {
            Assert.That(indexed < 0 ? null : snapshot.Nodes[indexed].Name, Is.EqualTo(scanned.Placed.SingleOrDefault()?.Node), "the index chooses what the scan chooses");
            if (allowed is { Length: 0 })
            {
                Assert.That(scanned.Placed, Is.Empty);
            }
            else if (allowed is not null)
            {
                Assert.That(allowed, Does.Contain(scanned.Placed.Single().Node));
            }
        });
    }

    [Test]
    public void A_task_no_node_allows_fails_with_the_policy_reason()
    {
        // d takes the first task and is then full; the nodes that refuse privileged containers are counted apart.
        var snapshot = Of(
            Node("a"),
            Node("b") with { Policy = Paths("/srv") },
            Node("c", status: NodeState.Draining) with { Policy = Privileged },
            Node("d", memory: 512) with { Policy = Privileged },
            Node("e", memory: 256) with { Policy = Privileged });
        var result = PlacementEngine.Place(Request(memory: 512, count: 3) with { Policy = Needs(privileged: true) }, snapshot, seed: 1);
        var failure = result.Failed[0];
        Assert.Multiple(() =>
        {
            Assert.That(result.Placed.Single().Node, Is.EqualTo("d"));
            Assert.That(result.Failed, Has.Count.EqualTo(2));
            Assert.That(failure.Reason, Is.EqualTo("POLICY"), "as many nodes lack memory as refuse the policy: the filter that runs first wins the tie");
            Assert.That(failure.Detail, Is.EqualTo("2 nodes: privileged containers are not allowed (Agent:AllowPrivileged); 2 nodes: insufficient memory (needs 512 MiB, best has 256); 1 node: draining"));
        });
    }
}
