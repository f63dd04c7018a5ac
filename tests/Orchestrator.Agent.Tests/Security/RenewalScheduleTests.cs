using Orchestrator.Agent.Security;

namespace Orchestrator.Agent.Tests.Security;

internal sealed class RenewalScheduleTests
{
    private static readonly DateTimeOffset Issued = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    [Test]
    public void Renewal_is_due_when_a_third_of_the_lifetime_remains()
    {
        Assert.That(RenewalSchedule.DueAt(Issued, Issued.AddDays(90)), Is.EqualTo(Issued.AddDays(60)));
    }

    [TestCase(0, 1.0, TestName = "just issued: look again in an hour")]
    [TestCase(59.99, 0.24, TestName = "a quarter of an hour before it is due: wait that long")]
    [TestCase(60, 0.0, TestName = "due")]
    [TestCase(89, 0.0, TestName = "nearly expired")]
    [TestCase(95, 0.0, TestName = "expired: still try")]
    public void The_wait_is_until_it_is_due_and_at_most_an_hour(double daysSinceIssue, double expectedHours)
    {
        var wait = RenewalSchedule.Wait(Issued.AddDays(daysSinceIssue), Issued, Issued.AddDays(90));
        Assert.That(wait.TotalHours, Is.EqualTo(expectedHours).Within(0.01));
    }
}
