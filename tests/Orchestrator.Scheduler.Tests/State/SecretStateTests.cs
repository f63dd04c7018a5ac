using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Security;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.Tests.State;

/// <summary>The state on the in-memory store, as unit tests build it: secrets work there with a key of the process.</summary>
internal sealed class SecretStateTests
{
    private const string Value = "in-memory-s3cr3t-51c0";

    private static ClusterState NewState(IStateStore store, SecretCipher? cipher = null) =>
        new(store, new FakeTimeProvider(), new TaskEventHub(), new SchedulerOptions { PlacementSeed = 1 }, NullLogger<ClusterState>.Instance, cipher);

    private static void Prepare(ClusterState state, RecordingSession session)
    {
        state.RegisterAgent(new AgentRegistration("default", "n1", 4096, 8192, new Dictionary<string, string>(), "test"), session, []);
        var definition = new Contracts.V1.TaskDefinition { Family = "web" };
        definition.ContainerDefinitions.Add(new ContainerDefinition { Name = "app", Image = "busybox", Memory = 64, Secrets = { new Secret { Name = "DB", ValueFrom = "db" } } });
        state.RegisterTaskDefinition(definition, new TaskResourceDemand(0, 64, []));
    }

    private static RunTaskCommand RunWeb() => new("default", "web", 1, [], [], "", "", "", "");

    [Test]
    public void Without_a_data_directory_values_are_sealed_with_a_key_of_the_process_and_reach_the_start_command()
    {
        var store = new InMemoryStateStore();
        var state = NewState(store);
        var session = new RecordingSession();
        Prepare(state, session);
        state.PutSecret("db", Encoding.UTF8.GetBytes(Value), "");

        var task = state.RunTask(RunWeb()).Tasks.Single();
        var start = session.Sent.Single(m => m.BodyCase == SchedulerMessage.BodyOneofCase.StartTask).StartTask;
        var stored = store.LoadAsync().GetAwaiter().GetResult();
        var json = string.Join("\n", StoreTables.All.SelectMany(t => stored.AsPuts().Where(c => c.Table == t).Select(c => t.Write(c.Record!))));
        Assert.Multiple(() =>
        {
            Assert.That(task.SecretVersions, Is.EqualTo(new Dictionary<string, int> { ["db"] = 1 }));
            Assert.That(start.SecretValues["db"].ToStringUtf8(), Is.EqualTo(Value));
            Assert.That(json, Does.Contain("\"Sealed\":"), "the value is stored, sealed");
            Assert.That(json, Does.Not.Contain(Value).And.Not.Contain(Convert.ToBase64String(Encoding.UTF8.GetBytes(Value))));
        });
    }

    [Test]
    public void A_state_opened_again_with_another_key_does_not_place_what_it_cannot_open_until_it_is_put_again()
    {
        var store = new InMemoryStateStore();
        var first = NewState(store);
        Prepare(first, new RecordingSession());
        first.PutSecret("db", Encoding.UTF8.GetBytes(Value), "");

        var again = NewState(store);
        var session = new RecordingSession();
        again.RegisterAgent(new AgentRegistration("default", "n1", 4096, 8192, new Dictionary<string, string>(), "test"), session, []);
        var refused = again.RunTask(RunWeb());
        again.PutSecret("db", Encoding.UTF8.GetBytes(Value), "");
        var placed = again.RunTask(RunWeb());
        Assert.Multiple(() =>
        {
            Assert.That(refused.Tasks, Is.Empty);
            Assert.That((refused.Failures.Single().Reason, refused.Failures.Single().Detail), Is.EqualTo((SecretPins.MissingReason,
                "containerDefinitions[0].secrets[0].valueFrom: secret \"db\" version 1 was sealed with another key than this scheduler's secrets.key; put it again")));
            Assert.That(placed.Tasks.Single().SecretVersions!["db"], Is.EqualTo(2));
            Assert.That(session.Sent.Last().StartTask.SecretValues["db"].ToStringUtf8(), Is.EqualTo(Value));
        });
    }
}
