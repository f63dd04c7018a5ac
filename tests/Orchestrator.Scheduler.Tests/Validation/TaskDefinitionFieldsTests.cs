using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Validation;

namespace Orchestrator.Scheduler.Tests.Validation;

/// <summary>The whole of issue 13's fields together, and the task-level placementConstraints.</summary>
internal sealed class TaskDefinitionFieldsTests
{
    private static IEnumerable<TestCaseData> Refusals()
    {
        var c = FullDefinition.Refused;
        yield return c("distinctInstance in a task definition", r => r.PlacementConstraints.Add(new PlacementConstraint { Type = "distinctInstance" }), "placementConstraints[1].type: a task definition takes \"memberOf\" constraints only (give distinctInstance to RunTask or the service), not \"distinctInstance\"");
        yield return c("unknown constraint type", r => r.PlacementConstraints[0].Type = "sameZone", "placementConstraints[0].type: a task definition takes \"memberOf\" constraints only, not \"sameZone\"");
        yield return c("constraint without a type", r => r.PlacementConstraints[0].Type = "", "placementConstraints[0].type: a task definition takes \"memberOf\" constraints only, not \"\"");
        yield return c("memberOf without an expression", r => r.PlacementConstraints[0].Expression = "", "placementConstraints[0].expression: expression is empty at position 1");
        yield return c("memberOf with a broken expression", r => r.PlacementConstraints[0].Expression = "attribute:zone == ", "placementConstraints[0].expression: expected a value after '==' but found end of expression at position 19");
        yield return c("eleven constraints", r => r.PlacementConstraints.AddRange(Enumerable.Range(0, 10).Select(i => new PlacementConstraint { Type = "memberOf", Expression = $"attribute:rack == r{i}" })), "placementConstraints: at most 10 allowed, got 11");
    }

    [TestCaseSource(nameof(Refusals))]
    public string Bad_task_level_field_is_refused_naming_the_field(RegisterTaskDefinitionRequest request) => FullDefinition.RefusalOf(request);

    [Test]
    public void A_definition_with_every_new_field_is_accepted_and_kept_as_given()
    {
        var request = FullDefinition.Request();
        var (spec, demand) = TaskDefinitionValidator.Validate(request);
        Assert.Multiple(() =>
        {
            Assert.That(spec.Volumes, Is.EqualTo(request.Volumes));
            Assert.That(spec.NetworkMode, Is.EqualTo("bridge"));
            Assert.That(spec.PlacementConstraints, Is.EqualTo(request.PlacementConstraints));
            Assert.That(spec.ContainerDefinitions, Is.EqualTo(request.ContainerDefinitions));
            Assert.That(demand.Memory, Is.EqualTo(256 + 512 + 64 + 32));
            Assert.That(demand.Ports.Select(p => (p.ContainerName, p.ContainerPort, p.HostPort)), Is.EqualTo(new[] { ("app", 8080, 0) }));
        });
    }

    [Test]
    public void Ten_memberOf_constraints_are_accepted()
    {
        var request = FullDefinition.Request();
        request.PlacementConstraints.AddRange(Enumerable.Range(0, 9).Select(i => new PlacementConstraint { Type = "memberOf", Expression = $"attribute:rack == r{i}" }));
        Assert.That(TaskDefinitionValidator.Validate(request).Spec.PlacementConstraints, Has.Count.EqualTo(10));
    }
}
