using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Integration;

internal sealed class TaskDefinitionApiTests : SchedulerTest
{
    [Test]
    public async Task Each_registration_makes_a_new_revision_and_family_means_the_latest_active()
    {
        var first = await RegisterAsync();
        var second = await RegisterAsync(WebDefinition(memory: 1024));
        var latest = (await Host.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = "web" })).TaskDefinition;
        var pinned = (await Host.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = "web:1" })).TaskDefinition;
        Assert.Multiple(() =>
        {
            Assert.That((first.TaskDefinitionArn, second.TaskDefinitionArn), Is.EqualTo(("web:1", "web:2")));
            Assert.That(latest.Revision, Is.EqualTo(2));
            Assert.That(latest.ContainerDefinitions[0].Memory, Is.EqualTo(1024));
            Assert.That(pinned.ContainerDefinitions[0].Memory, Is.EqualTo(512), "a revision never changes");
            Assert.That(pinned.Status, Is.EqualTo(TaskDefinitionStatus.Active));
        });
    }

    [Test]
    public async Task Deregistered_revision_stays_describable_but_cannot_run()
    {
        await RegisterAsync();
        await RegisterAsync();
        var deregistered = (await Host.TaskDefinitions.DeregisterTaskDefinitionAsync(new DeregisterTaskDefinitionRequest { TaskDefinition = "web:2" })).TaskDefinition;
        var latest = (await Host.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = "web" })).TaskDefinition;
        var active = await Host.TaskDefinitions.ListTaskDefinitionsAsync(new ListTaskDefinitionsRequest());
        var inactive = await Host.TaskDefinitions.ListTaskDefinitionsAsync(new ListTaskDefinitionsRequest { Status = TaskDefinitionStatus.Inactive });
        var all = await Host.TaskDefinitions.ListTaskDefinitionsAsync(new ListTaskDefinitionsRequest { IncludeAllStatuses = true, FamilyPrefix = "we", MatchFamilyPrefix = true });
        var refused = Refused(() => Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web:2" }).ResponseAsync);
        Assert.Multiple(() =>
        {
            Assert.That(deregistered.Status, Is.EqualTo(TaskDefinitionStatus.Inactive));
            Assert.That(deregistered.DeregisteredAt, Is.Not.Null);
            Assert.That(latest.Revision, Is.EqualTo(1));
            Assert.That(active.TaskDefinitionArns, Is.EqualTo(new[] { "web:1" }));
            Assert.That(inactive.TaskDefinitionArns, Is.EqualTo(new[] { "web:2" }));
            Assert.That(all.TaskDefinitionArns, Is.EqualTo(new[] { "web:1", "web:2" }));
            Assert.That((refused.StatusCode, refused.Status.Detail), Is.EqualTo((StatusCode.FailedPrecondition, "taskDefinition: task definition \"web:2\" is INACTIVE; new tasks of it cannot run")));
        });
    }

    [Test]
    public async Task Revisions_list_in_numeric_order_across_pages()
    {
        for (var i = 0; i < 12; i++)
        {
            await RegisterAsync();
        }

        var arns = new List<string>();
        var token = "";
        do
        {
            var page = await Host.TaskDefinitions.ListTaskDefinitionsAsync(new ListTaskDefinitionsRequest { MaxResults = 5, NextToken = token });
            arns.AddRange(page.TaskDefinitionArns);
            token = page.NextToken;
        }
        while (token.Length > 0);

        Assert.That(arns, Is.EqualTo(Enumerable.Range(1, 12).Select(i => $"web:{i}")));
    }

    [Test]
    public async Task Families_are_listed_by_prefix()
    {
        await RegisterAsync(WebDefinition("web"));
        await RegisterAsync(WebDefinition("web-admin"));
        await RegisterAsync(WebDefinition("worker"));
        var families = await Host.TaskDefinitions.ListTaskDefinitionFamiliesAsync(new ListTaskDefinitionFamiliesRequest { FamilyPrefix = "web" });
        Assert.That(families.Families, Is.EqualTo(new[] { "web", "web-admin" }));
    }
}
