using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.LoadBalancing;
using static Orchestrator.Scheduler.Tests.LoadBalancing.LoadBalancingFixtures;

namespace Orchestrator.Scheduler.Tests.LoadBalancing;

internal sealed class TargetHealthBookTests
{
    private TargetHealthBook _book = null!;
    private int _changes;

    [SetUp]
    public void MakeBook()
    {
        _book = new TargetHealthBook();
        _changes = 0;
        _book.Changed += () => _changes++;
    }

    private static BalancerReport Report(string group, params (string Id, string State, int Connections, bool Draining)[] targets) =>
        ReportOf(group, "ACTIVE", "", targets);

    private static BalancerReport ReportOf(string group, string state, string reason, params (string Id, string State, int Connections, bool Draining)[] targets)
    {
        var report = new TargetGroupReport { TargetGroup = group, State = state, Reason = reason };
        report.Targets.AddRange(targets.Select(t => new TargetReport { Id = t.Id, CheckState = t.State, CheckDescription = t.State == "UP" ? "L7OK" : "L4CON", CurrentConnections = t.Connections, Draining = t.Draining }));
        return new BalancerReport { TargetGroups = { report } };
    }

    private static IReadOnlyDictionary<string, IReadOnlyList<DerivedTarget>> Assigned(string group, params string[] ids) =>
        new Dictionary<string, IReadOnlyList<DerivedTarget>>
        {
            [group] = [.. ids.Select(id => new DerivedTarget(group, id, "127.0.0.1", 1, 100, false, "default", "web", "n1", "d1"))],
        };

    [Test]
    public void A_report_gives_verdicts_and_raises_changed_only_when_one_changes()
    {
        _book.Attach("lb1", 1, [], Now);
        _book.Report("lb1", 1, Report("tg", ("a", "INITIAL", 0, false)), Now);
        Assert.That((_book.Of("tg", "a"), _changes), Is.EqualTo((TargetVerdict.Initial, 1)));

        _book.Report("lb1", 1, Report("tg", ("a", "INITIAL", 0, false)), Now.AddSeconds(2));
        Assert.That(_changes, Is.EqualTo(1), "the same report again changes nothing");

        _book.Report("lb1", 1, Report("tg", ("a", "UP", 0, false)), Now.AddSeconds(4));
        Assert.That((_book.Of("tg", "a"), _changes), Is.EqualTo((TargetVerdict.Healthy, 2)));
        Assert.That(_book.Of("other", "a"), Is.EqualTo(TargetVerdict.Unknown));
    }

    [Test]
    public void A_balancer_that_disconnects_is_forgotten_unless_a_newer_stream_replaced_it()
    {
        _book.Attach("lb1", 1, [], Now);
        _book.Report("lb1", 1, Report("tg", ("a", "UP", 0, false)), Now);

        _book.Attach("lb1", 2, [], Now);
        _book.Report("lb1", 2, Report("tg", ("a", "DOWN", 0, false)), Now);
        _book.Report("lb1", 1, Report("tg", ("a", "UP", 0, false)), Now);
        _book.Detach("lb1", 1);
        Assert.That(_book.Of("tg", "a"), Is.EqualTo(TargetVerdict.Unhealthy), "the replaced stream's word and its end count for nothing");

        _book.Detach("lb1", 2);
        Assert.That((_book.Of("tg", "a"), _book.Balancers.Count), Is.EqualTo((TargetVerdict.Unknown, 0)));
    }

    [Test]
    public void One_balancer_finding_a_target_down_does_not_make_it_unhealthy_while_another_finds_it_up()
    {
        _book.Attach("lb1", 1, [], Now);
        _book.Attach("lb2", 2, ["tg"], Now);
        _book.Report("lb1", 1, Report("tg", ("a", "DOWN", 0, false)), Now);
        _book.Report("lb2", 2, Report("tg", ("a", "UP", 4, false)), Now);

        Assert.That(_book.Of("tg", "a"), Is.EqualTo(TargetVerdict.Healthy));
        Assert.That(_book.Observe("tg", "a").Connections, Is.EqualTo(4));
    }

    [Test]
    public void A_balancer_reports_only_on_the_groups_it_serves()
    {
        _book.Attach("lb1", 1, ["other"], Now);
        _book.Report("lb1", 1, Report("tg", ("a", "UP", 0, false)), Now);

        Assert.That(_book.Of("tg", "a"), Is.EqualTo(TargetVerdict.Unknown));
        Assert.That(_book.BalancersOf("tg"), Is.Empty);
        Assert.That(_book.BalancersOf("other").Single(), Is.EqualTo(new BalancerGroupStatus("lb1", "PENDING", "", Now)));
    }

    [Test]
    public void A_failed_group_shows_in_its_balancers_with_the_reason_since_it_failed()
    {
        _book.Attach("lb1", 1, [], Now);
        _book.Report("lb1", 1, ReportOf("tg", "FAILED", "port 8080 is in use on the balancer"), Now.AddSeconds(1));
        _book.Report("lb1", 1, ReportOf("tg", "FAILED", "port 8080 is in use on the balancer"), Now.AddSeconds(5));

        Assert.That(_book.BalancersOf("tg").Single(), Is.EqualTo(new BalancerGroupStatus("lb1", "FAILED", "port 8080 is in use on the balancer", Now.AddSeconds(1))));
        Assert.That(_book.Observe("tg", "a").Failed, Is.True);
    }

    [Test]
    public void A_task_is_drained_once_every_balancer_given_it_reports_it_draining_without_connections_or_gone()
    {
        _book.Attach("lb1", 1, [], Now);
        _book.Attach("lb2", 2, [], Now);
        _book.Assigned("lb1", 1, Assigned("tg", "a"));
        _book.Assigned("lb2", 2, Assigned("tg", "a"));
        Assert.That(_book.DrainOf("a"), Is.EqualTo(new DrainProgress(0, false)), "no report yet");

        _book.Report("lb1", 1, Report("tg", ("a", "UP", 2, true)));
        _book.Report("lb2", 2, Report("tg", ("a", "UP", 1, false)));
        Assert.That(_book.DrainOf("a"), Is.EqualTo(new DrainProgress(3, false)));

        var before = _changes;
        _book.Report("lb2", 2, Report("tg"));
        Assert.That(_book.DrainOf("a"), Is.EqualTo(new DrainProgress(2, false)), "gone from one, still connected on the other");
        Assert.That(_changes, Is.GreaterThan(before));

        _book.Report("lb1", 1, Report("tg", ("a", "UP", 0, true)));
        Assert.That(_book.DrainOf("a"), Is.EqualTo(new DrainProgress(0, true)));
    }

    /// <summary>
    /// Nothing is known of it (no balancer connected yet, as right after a failover, while HAProxy may still
    /// send it requests): its stop waits for the deregistration delay, not for nothing.
    /// </summary>
    [Test]
    public void A_task_no_balancer_was_given_is_not_drained()
    {
        Assert.That(_book.DrainOf("a"), Is.EqualTo(new DrainProgress(0, false)), "no balancer at all");
        _book.Attach("lb1", 1, [], Now);
        _book.Assigned("lb1", 1, Assigned("tg", "b"));
        _book.Report("lb1", 1, Report("tg", ("b", "UP", 0, false)));
        Assert.That(_book.DrainOf("a"), Is.EqualTo(new DrainProgress(0, false)), "a balancer that was not given it");
    }

    [Test]
    public void Reports_from_many_threads_leave_a_consistent_book()
    {
        _book.Attach("lb1", 1, [], Now);
        Parallel.For(0, 200, i => _book.Report("lb1", 1, Report("tg", ("a", i % 2 == 0 ? "UP" : "DOWN", i, false)), Now));
        _book.Report("lb1", 1, Report("tg", ("a", "UP", 7, false)), Now);

        Assert.That((_book.Of("tg", "a"), _book.Observe("tg", "a").Connections), Is.EqualTo((TargetVerdict.Healthy, 7)));
    }
}

file static class BookExtensions
{
    public static void Report(this TargetHealthBook book, string name, long connection, BalancerReport report) => book.Report(name, connection, report, Now);
}
