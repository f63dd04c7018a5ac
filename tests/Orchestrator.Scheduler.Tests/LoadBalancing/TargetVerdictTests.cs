using Orchestrator.Scheduler.LoadBalancing;

namespace Orchestrator.Scheduler.Tests.LoadBalancing;

internal sealed class TargetVerdictTests
{
    private static TargetSighting Saw(string state, int connections = 0, string description = "") => new(false, true, state, description, connections, false);

    private static readonly TargetSighting NotListed = new(false, false, "", "", 0, false);
    private static readonly TargetSighting Failed = new(true, false, "", "", 0, false);

    private static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(Array.Empty<TargetSighting>(), TargetVerdict.Unknown, false).SetName("no balancer: unknown");
        yield return new TestCaseData(new[] { NotListed }, TargetVerdict.Unknown, false).SetName("not yet applied: unknown");
        yield return new TestCaseData(new[] { Failed }, TargetVerdict.Unknown, true).SetName("its only balancer FAILED: unknown, failed");
        yield return new TestCaseData(new[] { Saw("UP") }, TargetVerdict.Healthy, false).SetName("UP: healthy");
        yield return new TestCaseData(new[] { Saw("DOWN") }, TargetVerdict.Unhealthy, false).SetName("DOWN: unhealthy");
        yield return new TestCaseData(new[] { Saw("INITIAL") }, TargetVerdict.Initial, false).SetName("INITIAL: initial");
        yield return new TestCaseData(new[] { Saw("DOWN"), Saw("UP") }, TargetVerdict.Healthy, false).SetName("one finds it UP, one DOWN: healthy");
        yield return new TestCaseData(new[] { Saw("DOWN"), Saw("DOWN") }, TargetVerdict.Unhealthy, false).SetName("all DOWN: unhealthy");
        yield return new TestCaseData(new[] { Saw("DOWN"), Saw("INITIAL") }, TargetVerdict.Initial, false).SetName("DOWN and INITIAL: initial");
        yield return new TestCaseData(new[] { Saw("DOWN"), NotListed }, TargetVerdict.Unhealthy, false).SetName("DOWN where reported, not applied elsewhere: unhealthy");
        yield return new TestCaseData(new[] { Saw("DOWN"), Failed }, TargetVerdict.Unhealthy, false).SetName("a FAILED balancer's word does not count");
        yield return new TestCaseData(new[] { Saw("up") }, TargetVerdict.Healthy, false).SetName("states in any case");
    }

    [TestCaseSource(nameof(Cases))]
    public void Healthy_when_any_balancer_says_so_unhealthy_only_when_all_reporting_do(TargetSighting[] sightings, TargetVerdict verdict, bool failed)
    {
        var observation = TargetVerdicts.Aggregate(sightings);

        Assert.That((observation.Verdict, observation.Failed), Is.EqualTo((verdict, failed)));
    }

    [Test]
    public void Connections_add_up_and_the_description_is_that_of_a_balancer_that_says_what_the_verdict_says()
    {
        var observation = TargetVerdicts.Aggregate([Saw("DOWN", 2, "L4CON"), Saw("UP", 3, "L7OK"), Failed]);

        Assert.That((observation.Connections, observation.Description, observation.Reporting), Is.EqualTo((5, "L7OK", 2)));
    }

    private static IEnumerable<TestCaseData> Descriptions()
    {
        // draining, observation, a balancer serves the group → state, reason
        yield return new TestCaseData(true, new TargetObservation(TargetVerdict.Healthy, "L7OK", 1, 1, false), true, "DRAINING", "Target.DeregistrationInProgress");
        yield return new TestCaseData(false, new TargetObservation(TargetVerdict.Healthy, "L7OK", 0, 1, false), true, "HEALTHY", "");
        yield return new TestCaseData(false, new TargetObservation(TargetVerdict.Unhealthy, "L7STS", 0, 1, false), true, "UNHEALTHY", "Target.ResponseCodeMismatch");
        yield return new TestCaseData(false, new TargetObservation(TargetVerdict.Unhealthy, "Layer7 wrong status, code: 500", 0, 1, false), true, "UNHEALTHY", "Target.ResponseCodeMismatch");
        yield return new TestCaseData(false, new TargetObservation(TargetVerdict.Unhealthy, "L4CON", 0, 1, false), true, "UNHEALTHY", "Target.FailedHealthChecks");
        yield return new TestCaseData(false, new TargetObservation(TargetVerdict.Initial, "", 0, 1, false), true, "INITIAL", "Elb.RegistrationInProgress");
        yield return new TestCaseData(false, TargetObservation.None, true, "INITIAL", "Elb.RegistrationInProgress");
        yield return new TestCaseData(false, TargetObservation.None with { Failed = true }, true, "UNAVAILABLE", "Elb.InternalError");
        yield return new TestCaseData(false, TargetObservation.None, false, "UNAVAILABLE", "");
    }

    [TestCaseSource(nameof(Descriptions))]
    public void Described_as_elb_does(bool draining, TargetObservation observation, bool served, string state, string reason)
    {
        var health = TargetHealthDescriptions.HealthOf(draining, observation, served);

        Assert.That((health.State, health.Reason), Is.EqualTo((state, reason)));
    }
}
