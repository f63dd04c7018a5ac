using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Probes;

namespace Orchestrator.Agent.Tests.Probes;

/// <summary>Docker's health state machine (moby daemon/health.go handleProbeResult), one probe result at a time.</summary>
internal sealed class HealthStateTests
{
    private static HealthCheckSpec Check(int retries = 3, int startPeriodSeconds = 0) =>
        new(["CMD", "true"], TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(5), retries, TimeSpan.FromSeconds(startPeriodSeconds));

    private static readonly object[] Cases =
    [
        // status before, streak before, success, seconds since start, retries, start period -> status after, streak after
        new object[] { ContainerHealth.Starting, 0, true, 30, 3, 0, ContainerHealth.Healthy, 0 },
        new object[] { ContainerHealth.Starting, 0, false, 30, 3, 0, ContainerHealth.Starting, 1 },
        new object[] { ContainerHealth.Starting, 2, false, 90, 3, 0, ContainerHealth.Unhealthy, 3 },
        new object[] { ContainerHealth.Starting, 0, false, 30, 1, 0, ContainerHealth.Unhealthy, 1 },
        new object[] { ContainerHealth.Starting, 0, false, 30, 0, 0, ContainerHealth.Starting, 1 },
        new object[] { ContainerHealth.Starting, 2, false, 90, 0, 0, ContainerHealth.Unhealthy, 3 },
        // Within the start period a failure does not count, even with retries 1; at its end it does.
        new object[] { ContainerHealth.Starting, 0, false, 30, 1, 60, ContainerHealth.Starting, 0 },
        new object[] { ContainerHealth.Starting, 0, false, 59, 1, 60, ContainerHealth.Starting, 0 },
        new object[] { ContainerHealth.Starting, 0, false, 60, 1, 60, ContainerHealth.Unhealthy, 1 },
        new object[] { ContainerHealth.Starting, 0, true, 30, 1, 60, ContainerHealth.Healthy, 0 },
        // Once healthy, the start period protects nothing.
        new object[] { ContainerHealth.Healthy, 0, false, 30, 1, 60, ContainerHealth.Unhealthy, 1 },
        new object[] { ContainerHealth.Healthy, 0, false, 30, 3, 0, ContainerHealth.Healthy, 1 },
        new object[] { ContainerHealth.Healthy, 1, true, 30, 3, 0, ContainerHealth.Healthy, 0 },
        new object[] { ContainerHealth.Unhealthy, 5, false, 300, 3, 0, ContainerHealth.Unhealthy, 6 },
        new object[] { ContainerHealth.Unhealthy, 5, true, 300, 3, 0, ContainerHealth.Healthy, 0 },
    ];

    [TestCaseSource(nameof(Cases))]
    public void A_probe_result_moves_the_state_as_Docker_does(ContainerHealth status, int streak, bool success, int sinceStartSeconds, int retries, int startPeriodSeconds, ContainerHealth expectedStatus, int expectedStreak)
    {
        var after = new HealthState(status, streak).After(success, TimeSpan.FromSeconds(sinceStartSeconds), Check(retries, startPeriodSeconds));

        Assert.That(after, Is.EqualTo(new HealthState(expectedStatus, expectedStreak)));
    }

    private static readonly object[] Commands =
    [
        new object[] { new[] { "CMD", "curl", "-f", "http://localhost/" }, new[] { "curl", "-f", "http://localhost/" } },
        new object[] { new[] { "CMD-SHELL", "curl -f http://localhost/ || exit 1" }, new[] { "/bin/sh", "-c", "curl -f http://localhost/ || exit 1" } },
    ];

    [TestCaseSource(nameof(Commands))]
    public void A_test_runs_its_command_as_Docker_runs_it(string[] test, string[] command) =>
        Assert.That(HealthState.CommandOf(test), Is.EqualTo(command));

    private static readonly object[] NoCommands =
    [
        new object[] { Array.Empty<string>() },
        new object[] { new[] { "NONE" } },
        new object[] { new[] { "CMD" } },
        new object[] { new[] { "CMD-SHELL" } },
        new object[] { new[] { "curl", "-f", "http://localhost/" } },
    ];

    [TestCaseSource(nameof(NoCommands))]
    public void A_test_that_is_none_empty_or_of_an_unknown_kind_runs_nothing(string[] test) =>
        Assert.That(HealthState.CommandOf(test), Is.Null);

    [Test]
    public void The_check_on_the_label_reads_back_as_it_was_written()
    {
        var check = new HealthCheckSpec(["CMD-SHELL", "wget -q -O- http://127.0.0.1/ \"quoted\""], TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(1500), 4, TimeSpan.FromSeconds(45));

        var label = HealthCheckLabel.Write(check);
        var read = HealthCheckLabel.Read(new Dictionary<string, string> { [HealthCheckLabel.Key] = label });

        Assert.Multiple(() =>
        {
            Assert.That(label, Does.Not.Contain("\n"));
            Assert.That(read!.Test, Is.EqualTo(check.Test));
            Assert.That(read with { Test = check.Test }, Is.EqualTo(check));
        });
    }

    [TestCase("")]
    [TestCase("not json")]
    [TestCase("{\"retries\":3}")]
    public void A_label_that_is_not_a_check_is_no_check(string label) =>
        Assert.That(HealthCheckLabel.Read(new Dictionary<string, string> { [HealthCheckLabel.Key] = label }), Is.Null);
}
