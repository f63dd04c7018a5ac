using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.Tests.Domain;

internal sealed class TaskStateMachineTests
{
    private static readonly (TaskState From, TaskState To)[] LegalMoves =
    [
        (TaskState.Provisioning, TaskState.Pending),
        (TaskState.Provisioning, TaskState.Running),
        (TaskState.Provisioning, TaskState.Stopping),
        (TaskState.Provisioning, TaskState.Stopped),
        (TaskState.Pending, TaskState.Running),
        (TaskState.Pending, TaskState.Stopping),
        (TaskState.Pending, TaskState.Stopped),
        (TaskState.Running, TaskState.Stopping),
        (TaskState.Running, TaskState.Stopped),
        (TaskState.Stopping, TaskState.Stopped),
    ];

    /// <summary>Every pair of statuses: exactly the forward moves above are legal, nothing else.</summary>
    private static IEnumerable<TestCaseData> EveryPair() =>
        from source in Enum.GetValues<TaskState>()
        from target in Enum.GetValues<TaskState>()
        select new TestCaseData(source, target).Returns(LegalMoves.Contains((source, target))).SetName($"{source} -> {target}");

    [TestCaseSource(nameof(EveryPair))]
    public bool Only_forward_moves_are_legal(TaskState from, TaskState to) => TaskStateMachine.CanMove(from, to);

    [Test]
    public void Only_stopped_tasks_release_their_resources()
    {
        Assert.That(Enum.GetValues<TaskState>().Where(s => !TaskStateMachine.HoldsResources(s)), Is.EqualTo(new[] { TaskState.Stopped }));
    }
}
