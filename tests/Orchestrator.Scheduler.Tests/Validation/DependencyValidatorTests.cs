using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Validation;

namespace Orchestrator.Scheduler.Tests.Validation;

/// <summary>dependsOn, links and volumesFrom: targets, conditions, and cycles. Containers: [0] app, [1] db, [2] migrate, [3] logger.</summary>
internal sealed class DependencyValidatorTests
{
    private const string Conditions = "\"START\", \"COMPLETE\", \"SUCCESS\" or \"HEALTHY\"";

    private static ContainerDependency On(string name, string condition = "START") => new() { ContainerName = name, Condition = condition };

    private static IEnumerable<TestCaseData> Refusals()
    {
        var c = FullDefinition.Refused;
        yield return c("dependency on an unknown container", r => r.ContainerDefinitions[0].DependsOn[0].ContainerName = "cache", "containerDefinitions[0].dependsOn[0].containerName: no container named \"cache\" in containerDefinitions");
        yield return c("dependency on itself", r => r.ContainerDefinitions[0].DependsOn[0].ContainerName = "app", "containerDefinitions[0].dependsOn[0].containerName: \"app\" is this container itself; name another one");
        yield return c("dependency without a container", r => r.ContainerDefinitions[0].DependsOn[0].ContainerName = "", "containerDefinitions[0].dependsOn[0].containerName: is required: the name of another container of this task definition");
        yield return c("condition in lower case", r => r.ContainerDefinitions[0].DependsOn[0].Condition = "healthy", $"containerDefinitions[0].dependsOn[0].condition: must be {Conditions}, not \"healthy\"");
        yield return c("condition missing", r => r.ContainerDefinitions[2].DependsOn[0].Condition = "", $"containerDefinitions[2].dependsOn[0].condition: is required: {Conditions}");
        yield return c("HEALTHY on a container without a health check", r => r.ContainerDefinitions[1].HealthCheck = null, "containerDefinitions[0].dependsOn[0].condition: HEALTHY needs a health check on \"db\", and it has none");
        yield return c("HEALTHY on a container whose health check is NONE", r => r.ContainerDefinitions[1].HealthCheck = new HealthCheck { Command = { "NONE" } }, "containerDefinitions[0].dependsOn[0].condition: HEALTHY needs a health check on \"db\", and it has none");
        yield return c("COMPLETE on an essential container by default", r => r.ContainerDefinitions[0].DependsOn[0].Condition = "COMPLETE", "containerDefinitions[0].dependsOn[0].condition: COMPLETE cannot be set on an essential container, and \"db\" is essential (its exit stops the task)");
        yield return c("SUCCESS on a container made essential", r => r.ContainerDefinitions[2].Essential = true, "containerDefinitions[0].dependsOn[1].condition: SUCCESS cannot be set on an essential container, and \"migrate\" is essential (its exit stops the task)");
        yield return c("dependency given twice", r => r.ContainerDefinitions[0].DependsOn.Add(On("db")), "containerDefinitions[0].dependsOn[2].containerName: \"db\" is also in dependsOn[0]");
        yield return c("too many dependencies", r => r.ContainerDefinitions[1].DependsOn.AddRange(Enumerable.Repeat(On("app"), 11)), "containerDefinitions[1].dependsOn: at most 10 allowed, got 11");
        yield return c("two containers waiting for each other", r => r.ContainerDefinitions[1].DependsOn.Add(On("app")), "containerDefinitions[0].dependsOn: a cycle: app -> db -> app");
        yield return c("a cycle of three", r => r.ContainerDefinitions[1].DependsOn.Add(On("logger")), "containerDefinitions[0].dependsOn: a cycle: app -> db -> logger -> app");
        yield return c("a cycle named from its first container", r => { r.ContainerDefinitions[0].DependsOn.RemoveAt(0); r.ContainerDefinitions[1].DependsOn.Add(On("migrate")); }, "containerDefinitions[1].dependsOn: a cycle: db -> migrate -> db");
        yield return c("a cycle away from the first container", r => { r.ContainerDefinitions[3].DependsOn.Clear(); r.ContainerDefinitions[3].DependsOn.Add(On("migrate")); r.ContainerDefinitions[2].DependsOn.Add(On("logger")); }, "containerDefinitions[2].dependsOn: a cycle: migrate -> logger -> migrate");
        yield return c("a cycle through a link", r => { r.ContainerDefinitions[0].DependsOn.Clear(); r.ContainerDefinitions[1].DependsOn.Add(On("app")); }, "containerDefinitions[0].links: a cycle: app -> db -> app");
        yield return c("a cycle of links", r => { r.ContainerDefinitions[0].DependsOn.Clear(); r.ContainerDefinitions[1].Links.Add("app"); }, "containerDefinitions[0].links: a cycle: app -> db -> app");

        yield return c("link to an unknown container", r => r.ContainerDefinitions[0].Links[0] = "cache:database", "containerDefinitions[0].links[0]: no container named \"cache\" in containerDefinitions");
        yield return c("link to itself", r => r.ContainerDefinitions[0].Links[0] = "app", "containerDefinitions[0].links[0]: \"app\" is this container itself; name another one");
        yield return c("link with two colons", r => r.ContainerDefinitions[0].Links[0] = "db:a:b", "containerDefinitions[0].links[0]: \"db:a:b\" is not \"container\" or \"container:alias\"");
        yield return c("empty link", r => r.ContainerDefinitions[0].Links[0] = "", "containerDefinitions[0].links[0]: \"\" is not \"container\" or \"container:alias\"");
        yield return c("link with only an alias", r => r.ContainerDefinitions[0].Links[0] = ":database", "containerDefinitions[0].links[0]: is required: the name of another container of this task definition");
        yield return c("link alias that is no host name", r => r.ContainerDefinitions[0].Links[0] = "db:data_base", "containerDefinitions[0].links[0]: the alias \"data_base\" is not a host name: dot-separated labels of letters, digits and hyphens, each 1 to 63 characters not starting or ending with a hyphen, at most 253 in all");
        yield return c("link alias given twice", r => r.ContainerDefinitions[0].Links.Add("migrate:database"), "containerDefinitions[0].links[1]: the name \"database\" is also given by links[0]");
        yield return c("too many links", r => r.ContainerDefinitions[0].Links.AddRange(Enumerable.Range(0, 100).Select(i => $"db:db{i}")), "containerDefinitions[0].links: at most 100 allowed, got 101");

        yield return c("volumes from an unknown container", r => r.ContainerDefinitions[2].VolumesFrom[0].SourceContainer = "cache", "containerDefinitions[2].volumesFrom[0].sourceContainer: no container named \"cache\" in containerDefinitions");
        yield return c("volumes from itself", r => r.ContainerDefinitions[2].VolumesFrom[0].SourceContainer = "migrate", "containerDefinitions[2].volumesFrom[0].sourceContainer: \"migrate\" is this container itself; name another one");
        yield return c("volumes from nobody", r => r.ContainerDefinitions[2].VolumesFrom[0].SourceContainer = "", "containerDefinitions[2].volumesFrom[0].sourceContainer: is required: the name of another container of this task definition");
        yield return c("volumes from one container twice", r => r.ContainerDefinitions[2].VolumesFrom.Add(new VolumeFrom { SourceContainer = "db" }), "containerDefinitions[2].volumesFrom[1].sourceContainer: \"db\" is also in volumesFrom[0]");
        yield return c("volumes from a container that links to it (both are resolved when a container is created)", r => { r.ContainerDefinitions[0].Secrets.RemoveAt(1); r.ContainerDefinitions[1].VolumesFrom.Add(new VolumeFrom { SourceContainer = "app" }); }, "containerDefinitions[0].links: a cycle: app -> db -> app");
        yield return c("volumes from a container with secret files", r => r.ContainerDefinitions[3].VolumesFrom.Add(new VolumeFrom { SourceContainer = "app", ReadOnly = true }), "containerDefinitions[3].volumesFrom[0].sourceContainer: \"app\" has secrets as files; volumesFrom would give this container its /run/secrets");
        yield return c("volumes from a source that has secret files added", r => r.ContainerDefinitions[1].Secrets.Add(new Secret { Name = "db.key", ValueFrom = "db-key", AsFile = true }), "containerDefinitions[2].volumesFrom[0].sourceContainer: \"db\" has secrets as files; volumesFrom would give this container its /run/secrets");
        yield return c("the second volumesFrom of a container with secret files", r => r.ContainerDefinitions[2].VolumesFrom.Add(new VolumeFrom { SourceContainer = "app" }), "containerDefinitions[2].volumesFrom[1].sourceContainer: \"app\" has secrets as files; volumesFrom would give this container its /run/secrets");
        yield return c("volumes from each other", r => r.ContainerDefinitions[1].VolumesFrom.Add(new VolumeFrom { SourceContainer = "migrate" }), "containerDefinitions[1].volumesFrom: a cycle: db -> migrate -> db");
        yield return c("too many volumesFrom", r => r.ContainerDefinitions[1].VolumesFrom.AddRange(Enumerable.Repeat(new VolumeFrom { SourceContainer = "app" }, 11)), "containerDefinitions[1].volumesFrom: at most 10 allowed, got 11");
    }

    private static IEnumerable<TestCaseData> Acceptances()
    {
        var a = FullDefinition.Accepted;
        yield return a("COMPLETE on a non-essential container", r => r.ContainerDefinitions[0].DependsOn[1].Condition = "COMPLETE");
        yield return a("HEALTHY on a non-essential container with a health check", r =>
        {
            r.ContainerDefinitions[2].HealthCheck = new HealthCheck { Command = { "CMD", "true" } };
            r.ContainerDefinitions[0].DependsOn[1].Condition = "HEALTHY";
        });
        yield return a("a link without an alias", r => r.ContainerDefinitions[0].Links[0] = "db");
        yield return a("two aliases of one container", r => r.ContainerDefinitions[0].Links.Add("db:postgres"));
        yield return a("a dependency and a link to the same container", r => r.ContainerDefinitions[0].Links.Add("migrate"));
        yield return a("volumes one way, start order the other", r => { r.ContainerDefinitions[0].Links.Clear(); r.ContainerDefinitions[1].VolumesFrom.Add(new VolumeFrom { SourceContainer = "logger" }); });
        yield return a("volumes from a container whose secrets are environment variables only", r => { r.ContainerDefinitions[0].Secrets.RemoveAt(1); r.ContainerDefinitions[3].VolumesFrom.Add(new VolumeFrom { SourceContainer = "app" }); });
        yield return a("a diamond of dependencies", r => r.ContainerDefinitions[3].DependsOn.Add(On("db")));
    }

    [TestCaseSource(nameof(Refusals))]
    public string Bad_dependency_is_refused_naming_the_field(RegisterTaskDefinitionRequest request) => FullDefinition.RefusalOf(request);

    [TestCaseSource(nameof(Acceptances))]
    public void Good_dependency_is_accepted(RegisterTaskDefinitionRequest request) =>
        Assert.That(() => TaskDefinitionValidator.Validate(request), Throws.Nothing);

    [TestCase(new[] { "1,2", "3", "3", "" }, null, TestName = "A diamond has no cycle")]
    [TestCase(new[] { "1", "2", "0" }, new[] { 0, 1, 2 }, TestName = "A ring is found in edge order")]
    [TestCase(new[] { "1", "2", "1" }, new[] { 1, 2 }, TestName = "A cycle behind a path is found without the path")]
    [TestCase(new[] { "", "", "3", "2" }, new[] { 2, 3 }, TestName = "A cycle among later nodes is found")]
    public void Cycle_finder_finds_a_cycle_only_where_there_is_one(string[] edges, int[]? cycle)
    {
        var graph = edges.Select(e => (IReadOnlyList<int>)e.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList()).ToList();
        Assert.That(CycleFinder.Find(graph), Is.EqualTo(cycle));
    }
}
