using Microsoft.Extensions.Time.Testing;
using Orchestrator.Scheduler.HA;

namespace Orchestrator.Scheduler.Tests.HA;

/// <summary>The leader's own deadline: always before etcd can expire the lease, moved only by later renewals.</summary>
internal sealed class LeaseDeadlineTests
{
    [TestCase(2, 1)]
    [TestCase(4, 1)]
    [TestCase(5, 1)]
    [TestCase(10, 2)]
    [TestCase(60, 12)]
    public void The_margin_is_a_fifth_of_the_TTL_and_at_least_a_second(int ttlSeconds, int marginSeconds) =>
        Assert.That(LeaseDeadline.MarginFor(TimeSpan.FromSeconds(ttlSeconds)), Is.EqualTo(TimeSpan.FromSeconds(marginSeconds)));

    [Test]
    public void The_margin_never_takes_more_than_half_a_short_TTL() =>
        Assert.That(LeaseDeadline.MarginFor(TimeSpan.FromMilliseconds(1500)), Is.EqualTo(TimeSpan.FromMilliseconds(750)));

    [Test]
    public void The_deadline_is_the_send_time_plus_the_TTL_minus_the_margin()
    {
        var time = new FakeTimeProvider();
        var deadline = new LeaseDeadline(time, time.GetTimestamp(), TimeSpan.FromSeconds(10));

        time.Advance(TimeSpan.FromSeconds(8) - TimeSpan.FromMilliseconds(1));
        var before = deadline.HasPassed;
        time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Multiple(() =>
        {
            Assert.That(before, Is.False);
            Assert.That(deadline.HasPassed, Is.True);
        });
    }

    [Test]
    public void A_renewal_counts_from_when_it_was_sent_and_an_answer_to_an_earlier_one_does_not_move_it_back()
    {
        var time = new FakeTimeProvider();
        var deadline = new LeaseDeadline(time, time.GetTimestamp(), TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(3));
        var earlier = time.GetTimestamp();
        time.Advance(TimeSpan.FromSeconds(1));
        var later = time.GetTimestamp();
        time.Advance(TimeSpan.FromSeconds(2));

        // Answered in the wrong order, as after a reconnect: the later send wins.
        deadline.Renewed(later, TimeSpan.FromSeconds(10));
        deadline.Renewed(earlier, TimeSpan.FromSeconds(10));

        Assert.That(deadline.Remaining, Is.EqualTo(TimeSpan.FromSeconds(8) - TimeSpan.FromSeconds(2)));
    }
}
