using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Tests.TaskSets;

internal sealed class TaskSetValidatorTests
{
    private static CreateTaskSetRequest Valid() => new() { Service = "web", TaskDefinition = "web:1" };

    [Test]
    public void Defaults_are_a_scale_of_100_percent_in_the_default_cluster()
    {
        var definition = TaskSetValidator.Validate(Valid());
        Assert.That(definition, Is.EqualTo(new TaskSetDefinition("default", "web", "web:1", 100, "", "")));
    }

    [Test]
    public void A_scale_and_ids_given_are_kept()
    {
        var request = Valid();
        request.Scale = new Scale { Value = 12.5, Unit = "PERCENT" };
        request.ExternalId = "green/v2";
        request.ClientToken = "token-1";
        Assert.That(TaskSetValidator.Validate(request), Is.EqualTo(new TaskSetDefinition("default", "web", "web:1", 12.5, "green/v2", "token-1")));
    }

    private static IEnumerable<TestCaseData> Bad()
    {
        TestCaseData Case(string name, Action<CreateTaskSetRequest> change, string field) =>
            new TestCaseData(change, field).SetName(name);
        yield return Case("no service", r => r.Service = "", "service");
        yield return Case("a bad service name", r => r.Service = "a b", "service");
        yield return Case("no task definition", r => r.TaskDefinition = "", "taskDefinition");
        yield return Case("a bad cluster", r => r.Cluster = "a/b", "cluster");
        yield return Case("scale above 100", r => r.Scale = new Scale { Value = 100.5, Unit = "PERCENT" }, "scale.value");
        yield return Case("negative scale", r => r.Scale = new Scale { Value = -1, Unit = "PERCENT" }, "scale.value");
        yield return Case("scale not a number", r => r.Scale = new Scale { Value = double.NaN, Unit = "PERCENT" }, "scale.value");
        yield return Case("scale infinite", r => r.Scale = new Scale { Value = double.PositiveInfinity }, "scale.value");
        yield return Case("another unit", r => r.Scale = new Scale { Value = 10, Unit = "COUNT" }, "scale.unit");
        yield return Case("an external id too long", r => r.ExternalId = new string('x', 256), "externalId");
        yield return Case("a client token too long", r => r.ClientToken = new string('x', 37), "clientToken");
        yield return Case("a client token with a space", r => r.ClientToken = "a b", "clientToken");
    }

    [TestCaseSource(nameof(Bad))]
    public void Bad_input_names_its_field(Action<CreateTaskSetRequest> change, string field)
    {
        var request = Valid();
        change(request);
        var error = Assert.Throws<RequestException>(() => TaskSetValidator.Validate(request))!;
        Assert.That((error.Kind, error.Field), Is.EqualTo((RequestErrorKind.InvalidArgument, field)));
    }

    [TestCase("", "taskSet")]
    [TestCase("a b", "taskSet")]
    [TestCase("ecs-svc/0123456789abcdef01234567890123456789012345678901234567890123456", "taskSet")]
    public void Bad_task_set_ids_name_their_field(string id, string field)
    {
        var error = Assert.Throws<RequestException>(() => TaskSetValidator.Id(id, field))!;
        Assert.That((error.Kind, error.Field), Is.EqualTo((RequestErrorKind.InvalidArgument, field)));
    }

    [Test]
    public void An_update_needs_a_scale() =>
        Assert.That(Assert.Throws<RequestException>(() => TaskSetValidator.Scale(null))!.Field, Is.EqualTo("scale"));
}
