using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// Request text echoed in an error is escaped, in the answer and in the log (gRPC logs every error
/// status at Information): no client can write a line that looks like the scheduler's own.
/// </summary>
internal sealed class SafeEchoTests
{
    private const string Forged = "a\nERROR fake\u001b[31m";
    private const string Escaped = "a\\nERROR fake\\x1b[31m";

    private string _directory = "";
    private SchedulerHost _host = null!;

    [SetUp]
    public void StartScheduler()
    {
        _directory = Directory.CreateTempSubdirectory("orchestrator-it-").FullName;
        _host = new SchedulerHost(Path.Combine(_directory, "scheduler.db"), logLevel: "Information");
        _ = _host.Server;
    }

    [TearDown]
    public void StopScheduler()
    {
        _host.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static IEnumerable<TestCaseData> Requests()
    {
        yield return new TestCaseData(
            (Func<SchedulerHost, Task>)(h => h.Clusters.CreateClusterAsync(new CreateClusterRequest { Name = Forged }).ResponseAsync),
            $"name: \"{Escaped}\" is not a valid cluster name: use 1 to 255 letters, digits, hyphens and underscores")
            .SetName("CreateCluster with a forged name");
        yield return new TestCaseData(
            (Func<SchedulerHost, Task>)(h => h.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = Forged + ":x" }).ResponseAsync),
            $"taskDefinition: \"{Escaped}:x\" is not \"family\" or \"family:revision\" with a revision of 1 or more")
            .SetName("DescribeTaskDefinition with a forged reference");
        yield return new TestCaseData(
            (Func<SchedulerHost, Task>)(h => h.Tasks.RunTaskAsync(new RunTaskRequest
            {
                TaskDefinition = "web",
                PlacementStrategy = { new PlacementStrategy { Type = Forged } },
            }).ResponseAsync),
            $"placementStrategy[0].type: must be \"binpack\", \"spread\" or \"random\", not \"{Escaped}\"")
            .SetName("RunTask with a forged strategy type");
    }

    [TestCaseSource(nameof(Requests))]
    public async Task A_request_carrying_newlines_and_escape_codes_is_answered_and_logged_escaped(Func<SchedulerHost, Task> call, string message)
    {
        var error = Assert.ThrowsAsync<RpcException>(async () => await call(_host))!;
        await Task.Delay(50); // gRPC logs the status as the call completes

        var lines = _host.Logs.Lines;
        Assert.Multiple(() =>
        {
            Assert.That((error.StatusCode, error.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, message)));
            Assert.That(lines, Has.None.Contains("\nERROR fake"), "no line carries the raw newline");
            Assert.That(lines, Has.None.Contains("\u001b"), "nor the escape code");
            Assert.That(lines.Count(l => l.Contains(Escaped, StringComparison.Ordinal)), Is.EqualTo(1), "the status is logged once, escaped: " + string.Join("\n", lines));
        });
    }
}
