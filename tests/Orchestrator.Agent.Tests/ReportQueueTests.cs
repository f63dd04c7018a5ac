using System.Threading.Channels;
using Orchestrator.Agent.Connection;
using Orchestrator.Contracts.V1;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Agent.Tests;

internal sealed class ReportQueueTests
{
    [Test]
    public void Unacknowledged_reports_are_sent_again_in_order_on_the_next_stream()
    {
        var queue = new ReportQueue();
        var first = Channel.CreateUnbounded<AgentMessage>();
        queue.Attach(first.Writer);
        queue.Report(new TaskStateReport { TaskId = "a", LastStatus = TaskStatus.Pending });
        queue.Report(new TaskStateReport { TaskId = "a", LastStatus = TaskStatus.Running });
        queue.Acknowledge(1);
        queue.Detach(first.Writer);
        queue.Report(new TaskStateReport { TaskId = "a", LastStatus = TaskStatus.Stopped }); // while disconnected

        var second = Channel.CreateUnbounded<AgentMessage>();
        queue.Attach(second.Writer);
        var resent = new List<(ulong, TaskStatus)>();
        while (second.Reader.TryRead(out var message))
        {
            resent.Add((message.TaskState.Sequence, message.TaskState.LastStatus));
        }

        Assert.Multiple(() =>
        {
            Assert.That(resent, Is.EqualTo(new[] { (2UL, TaskStatus.Running), (3UL, TaskStatus.Stopped) }));
            Assert.That(queue.PendingCount, Is.EqualTo(2));
        });
    }

    [Test]
    public void Backoff_grows_to_its_cap_with_jitter_and_resets()
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30), new Random(1));
        var delays = Enumerable.Range(0, 12).Select(_ => backoff.Next().TotalMilliseconds).ToList();
        backoff.Reset();
        var afterReset = backoff.Next().TotalMilliseconds;
        Assert.Multiple(() =>
        {
            Assert.That(delays[0], Is.InRange(250, 500));
            Assert.That(delays[3], Is.InRange(2000, 4000));
            Assert.That(delays.Skip(8), Is.All.InRange(15_000, 30_000), "capped at 30 s");
            Assert.That(afterReset, Is.InRange(250, 500));
        });
    }
}
