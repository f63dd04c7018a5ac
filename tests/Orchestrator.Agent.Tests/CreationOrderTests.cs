using Orchestrator.Agent.Tasks;
using Orchestrator.Contracts.V1;

namespace Orchestrator.Agent.Tests;

/// <summary>Sources of volumesFrom and links are created before the containers that name them.</summary>
public sealed class CreationOrderTests
{
    // Each container: "name" or "name<source,source" (a source is a volumesFrom, or a link when it starts with '~').
    [TestCase(new[] { "a", "b", "c" }, new[] { 0, 1, 2 }, TestName = "No sources: the definition's order")]
    [TestCase(new[] { "app<data", "data" }, new[] { 1, 0 }, TestName = "volumesFrom a later container: it first")]
    [TestCase(new[] { "web<~db", "db" }, new[] { 1, 0 }, TestName = "A link to a later container: it first")]
    [TestCase(new[] { "a<b", "b<c", "c", "d" }, new[] { 2, 1, 0, 3 }, TestName = "A chain: deepest first, the rest in order")]
    [TestCase(new[] { "a<b,~c", "b", "c" }, new[] { 1, 2, 0 }, TestName = "Two sources: both first, in their order")]
    [TestCase(new[] { "a<b", "b<a" }, new[] { 1, 0 }, TestName = "A cycle (refused at registration) still gives each once")]
    [TestCase(new[] { "a<~b:alias", "b" }, new[] { 1, 0 }, TestName = "A link's alias is not a container")]
    public void Sources_are_created_before_the_containers_that_need_them(string[] containers, int[] expected)
    {
        var definitions = containers.Select(Parse).ToList();
        Assert.That(CreationOrder.Of(definitions), Is.EqualTo(expected));
    }

    private static ContainerDefinition Parse(string text)
    {
        var parts = text.Split('<');
        var definition = new ContainerDefinition { Name = parts[0] };
        foreach (var source in parts.Length > 1 ? parts[1].Split(',') : [])
        {
            if (source.StartsWith('~'))
            {
                definition.Links.Add(source[1..]);
            }
            else
            {
                definition.VolumesFrom.Add(new VolumeFrom { SourceContainer = source });
            }
        }

        return definition;
    }
}
