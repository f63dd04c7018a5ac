using Orchestrator.Tests.Shared;

namespace Orchestrator.Scheduler.Tests.LoadClient;

/// <summary>The figures of a rolling deployment: what the client saw while it ran, and when each new backend got its first request.</summary>
[TestFixture]
public sealed class RollingFiguresTests
{
    private static readonly DateTime ClientStart = new(2026, 12, 5, 12, 0, 0, DateTimeKind.Utc);

    private static SteadyHttpResult At(int index, double seconds, string? body, string? error = null) =>
        new(index, TimeSpan.FromSeconds(seconds), TimeSpan.FromMilliseconds(100), error is null ? 200 : null, error, body);

    [Test]
    public void Times_each_new_backend_to_when_its_first_answer_came_and_counts_the_failures_in_the_update()
    {
        SteadyHttpResult[] results =
        [
            At(0, 0.0, "old1"), At(1, 1.0, "old2"), At(2, 2.0, null, "ConnectionRefused"), At(3, 3.0, "new1"),
            At(4, 4.0, null, "timeout"), At(5, 5.0, "new1"), At(6, 6.0, "new2"), At(7, 9.0, "new2"),
        ];
        BackendTimes[] backends =
        [
            new("new2", ClientStart.AddSeconds(5), ClientStart.AddSeconds(5.5)),
            new("new1", ClientStart.AddSeconds(2.5), null),
            new("new3", ClientStart.AddSeconds(6), ClientStart.AddSeconds(7)),
        ];

        var figures = RollingFigures.Of(results, ClientStart, ClientStart.AddSeconds(1.5), ClientStart.AddSeconds(6.5), backends);

        Assert.Multiple(() =>
        {
            Assert.That((figures.All.Sent, figures.All.Failed), Is.EqualTo((8, 2)));
            Assert.That((figures.DuringUpdate.Sent, figures.DuringUpdate.Failed), Is.EqualTo((5, 2)));
            Assert.That(figures.StartToFirstRequest, Is.EqualTo(new[] { TimeSpan.FromSeconds(0.6), TimeSpan.FromSeconds(1.1) }), "to the first answer, in the order the backends started");
            Assert.That(figures.ReadyToFirstRequest, Is.EqualTo(new[] { TimeSpan.FromSeconds(0.6) }), "only backends with a ready time");
            Assert.That(figures.NeverServed, Is.EqualTo(new[] { "new3" }));
            Assert.That(figures.FailureSpan, Is.EqualTo(TimeSpan.FromSeconds(2)));
        });
    }

    [Test]
    public void A_clean_run_has_no_failure_span()
    {
        var figures = RollingFigures.Of([At(0, 0, "a"), At(1, 1, "b")], ClientStart, ClientStart, ClientStart.AddSeconds(1), []);
        Assert.Multiple(() =>
        {
            Assert.That(figures.FailureSpan, Is.EqualTo(TimeSpan.Zero));
            Assert.That(figures.All.Failed, Is.Zero);
            Assert.That(RollingFigures.Spread(figures.StartToFirstRequest), Is.EqualTo("none"));
        });
    }

    [Test]
    public void Spread_names_min_median_and_max()
    {
        var spread = RollingFigures.Spread([TimeSpan.FromMilliseconds(30), TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(40)]);
        Assert.That(spread, Is.EqualTo("min 10 ms, median 20 ms, max 40 ms (n=4)"));
    }
}
