using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Tests.Validation;

/// <summary>Which container a logs or exec call reads or runs in.</summary>
internal sealed class ContainerChoiceTests
{
    private const string Id = "0123456789abcdef0123456789abcdef";

    /// <summary>Containers written "name" (essential) or "name?" (not essential), in the definition's order.</summary>
    private static TaskRecord Task(params string[] containers) => new()
    {
        Id = Id,
        Cluster = "default",
        TaskDefinitionArn = "arn:orchestrator:default:task-definition/web:1",
        Family = "web",
        Revision = 1,
        Node = "n1",
        LastStatus = TaskState.Running,
        DesiredStatus = TaskState.Running,
        Containers = [.. containers.Select(c => new ContainerRecord(c.TrimEnd('?'), "busybox", !c.EndsWith('?'), TaskState.Running, []))],
        Group = "family:web",
        Cpu = 0,
        Memory = 0,
        CreatedAt = DateTimeOffset.UnixEpoch,
    };

    [TestCase(new[] { "app" }, "", "app", TestName = "The only container when none is named")]
    [TestCase(new[] { "app?" }, "", "app", TestName = "The only container even when it is not essential")]
    [TestCase(new[] { "log?", "web", "db" }, "", "web", TestName = "The first essential container when none is named")]
    [TestCase(new[] { "a?", "b?" }, "", "a", TestName = "The first container when none is essential")]
    [TestCase(new[] { "log?", "web" }, "log", "log", TestName = "The container named, essential or not")]
    [TestCase(new[] { "web", "db" }, "db", "db", TestName = "The container named, even after an essential one")]
    public void Chooses(string[] containers, string requested, string chosen) =>
        Assert.That(ContainerChoice.Resolve(Task(containers), requested, "container").Name, Is.EqualTo(chosen));

    [TestCase("container", TestName = "An unknown container is NOT_FOUND naming the task's containers")]
    [TestCase("start.container", TestName = "An unknown container is refused under the request's own field")]
    public void Refuses_a_container_the_task_does_not_have(string field)
    {
        var refusal = Assert.Throws<RequestException>(() => ContainerChoice.Resolve(Task("web", "log?"), "Web", field))!;
        Assert.That((refusal.Kind, refusal.Message), Is.EqualTo((RequestErrorKind.NotFound, $"{field}: task \"{Id}\" has no container \"Web\"; its containers: web, log")));
    }
}
