using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Balancer.Apply;
using Orchestrator.Balancer.Connection;
using Orchestrator.Balancer.Haproxy;
using Orchestrator.Balancer.Hosting;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Balancer.Tests;

/// <summary>The whole balancer: a (fake) scheduler's assignment in, a real HAProxy serving it, reports out.</summary>
[NonParallelizable]
public sealed class BalancerLoopTests
{
    [Test]
    public async Task AnAssignmentFromTheSchedulerIsServedAndReported()
    {
        using var haproxy = new HaproxyProcess();
        await haproxy.StartAsync();
        using var target = new TinyHttpServer("a");
        await using var scheduler = await FakeScheduler.StartAsync();
        var port = HaproxyProcess.FreePort();
        var assignment = new BalancerAssignment { Version = 1 };
        assignment.TargetGroups.Add(new BalancedTargetGroup
        {
            TargetGroup = new TargetGroup
            {
                Name = "web",
                Protocol = "HTTP",
                Port = port,
                HealthCheck = new TargetGroupHealthCheck { Path = "/health", IntervalSeconds = 1, TimeoutSeconds = 1 },
            },
            Targets = { new BalancedTarget { Id = "task-1", Host = "127.0.0.1", Port = target.Port, Weight = 100 } },
        });
        scheduler.Assignments.Writer.TryWrite(assignment);

        var options = new BalancerOptions { Name = "lb-test", Schedulers = scheduler.Address.ToString().TrimEnd('/') };
        using var channels = new SchedulerChannels(null, "balancer-token");
        var applier = new BalancerApplier(
            new HaproxyRuntime(haproxy.AdminSocket, haproxy.MasterSocket),
            new BindPortCheck(),
            new ApplierSettings("lb-test", haproxy.ConfigPath, haproxy.StateFile, haproxy.AdminSocket, "127.0.0.1", TimeSpan.FromSeconds(15)),
            TimeProvider.System,
            NullLogger<BalancerApplier>.Instance);
        using var loop = new BalancerLoop(options, channels, applier, TimeProvider.System, NullLogger<BalancerLoop>.Instance);
        await loop.StartAsync(CancellationToken.None);
        try
        {
            BalancerReport? last = null;
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await foreach (var report in scheduler.Reports.Reader.ReadAllAsync(wait.Token))
            {
                last = report;
                if (report.TargetGroups.SingleOrDefault() is { State: "ACTIVE" } group && group.Targets.Single().CheckState == "UP")
                {
                    break;
                }
            }

            Assert.That(scheduler.Hello!.Name, Is.EqualTo("lb-test"));
            Assert.That(scheduler.Authorization, Is.EqualTo("Bearer balancer-token"));
            Assert.That(last!.TargetGroups.Single().Targets.Single().Id, Is.EqualTo("task-1"));
            using var http = new HttpClient();
            Assert.That(await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/")), Is.EqualTo("a"));

            // A new assignment without the target: it is taken out, and the report says so.
            var empty = assignment.Clone();
            empty.Version = 2;
            empty.TargetGroups[0].Targets.Clear();
            scheduler.Assignments.Writer.TryWrite(empty);
            await foreach (var report in scheduler.Reports.Reader.ReadAllAsync(wait.Token))
            {
                if (report.TargetGroups.Single().Targets.Count == 0)
                {
                    break;
                }
            }

            var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/"));
            Assert.That((int)response.StatusCode, Is.EqualTo(503));
        }
        finally
        {
            await loop.StopAsync(CancellationToken.None);
        }
    }
}
