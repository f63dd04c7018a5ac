using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Grpc.Net.Client;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Daemon;

/// <summary>The daemon as users run it: a process on a real h2c port.</summary>
internal sealed class DaemonTests
{
    private string _directory = "";

    private string DbPath => Path.Combine(_directory, "scheduler.db");

    [SetUp]
    public void MakeDirectory() => _directory = Directory.CreateTempSubdirectory("orchestrator-daemon-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public async Task It_serves_health_and_reflection_over_tls_without_a_token()
    {
        var port = DaemonProcess.FreePort();
        using var daemon = DaemonProcess.StartScheduler(DbPath, port);
        using var channel = SchedulerChannel.ForDaemon(port, _directory, token: "");
        Assert.That(await daemon.WaitUntilServingAsync(channel), Is.True, string.Join("\n", daemon.StandardError));

        using var call = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.That(await call.ResponseStream.MoveNext(CancellationToken.None));
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.That(services, Is.SupersetOf(new[]
        {
            "orchestrator.v1.ClusterService", "orchestrator.v1.TaskDefinitionService", "orchestrator.v1.NodeService",
            "orchestrator.v1.TaskService", "orchestrator.v1.AgentService", "orchestrator.v1.SecretService", "grpc.health.v1.Health",
        }));
    }

    [Test]
    public async Task Cleartext_to_the_tls_port_gets_nothing_and_the_api_needs_a_token()
    {
        var port = DaemonProcess.FreePort();
        using var daemon = DaemonProcess.StartScheduler(DbPath, port);
        using var channel = SchedulerChannel.ForDaemon(port, _directory);
        Assert.That(await daemon.WaitUntilServingAsync(channel), Is.True, string.Join("\n", daemon.StandardError));
        using var cleartext = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        using var anonymous = SchedulerChannel.ForDaemon(port, _directory, token: "");

        var plain = Assert.ThrowsAsync<RpcException>(async () => await new Health.HealthClient(cleartext).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(5)));
        var noToken = Assert.ThrowsAsync<RpcException>(async () => await new ClusterService.ClusterServiceClient(anonymous).ListClustersAsync(new ListClustersRequest()));
        var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest());
        Assert.Multiple(() =>
        {
            Assert.That(plain!.StatusCode, Is.Not.EqualTo(StatusCode.OK), "h2c to the TLS port is not served");
            Assert.That((noToken!.StatusCode, noToken.Status.Detail), Is.EqualTo((StatusCode.Unauthenticated, "authorization: a token is required: send the header \"authorization: Bearer <token>\"")));
            Assert.That(health.Status, Is.EqualTo(HealthCheckResponse.Types.ServingStatus.Serving), "and it stays healthy");
            Assert.That(File.ReadAllText(Path.Combine(_directory, "admin.token")), Does.StartWith("orch_"));
            Assert.That(ModeOf(Path.Combine(_directory, "admin.token")), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
            Assert.That(ModeOf(Path.Combine(_directory, "ca.key")), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
            Assert.That(ModeOf(Path.Combine(_directory, "server.key")), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
            Assert.That(ModeOf(Path.Combine(_directory, "join.token")), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        });
    }

    private static UnixFileMode ModeOf(string path) => OperatingSystem.IsWindows() ? 0 : File.GetUnixFileMode(path);

    [Test]
    public void Cleartext_is_refused_on_an_address_other_than_loopback()
    {
        using var daemon = DaemonProcess.Start("orchestrator-scheduler.dll", [$"--Scheduler:Listen=0.0.0.0:{DaemonProcess.FreePort()}", $"--Scheduler:DataPath={DbPath}", "--Scheduler:Insecure=true"]);
        Assert.Multiple(() =>
        {
            Assert.That(daemon.WaitForExit(), Is.EqualTo(1));
            Assert.That(daemon.StandardError, Has.Some.Contains("Scheduler:Insecure (cleartext, agents identified by name) is only allowed on a loopback address"));
            Assert.That(File.Exists(DbPath), Is.False, "it stopped before opening anything");
        });
    }

    [Test]
    public async Task Nothing_acknowledged_is_lost_when_the_process_is_killed()
    {
        var acknowledged = new List<string>();
        var port = DaemonProcess.FreePort();
        using var channel = SchedulerChannel.ForDaemon(port, _directory);
        using (var daemon = DaemonProcess.StartScheduler(DbPath, port))
        {
            Assert.That(await daemon.WaitUntilServingAsync(channel), Is.True, string.Join("\n", daemon.StandardError));
            var client = new TaskDefinitionService.TaskDefinitionServiceClient(channel);
            for (var i = 0; i < 50; i++)
            {
                var reply = await client.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
                {
                    Family = $"f{i % 5}",
                    ContainerDefinitions = { new ContainerDefinition { Name = "app", Image = "busybox", Memory = 64 } },
                });
                acknowledged.Add(reply.TaskDefinition.TaskDefinitionArn);
            }

            daemon.KillHard();
        }

        using var restarted = DaemonProcess.StartScheduler(DbPath, port);
        Assert.That(await restarted.WaitUntilServingAsync(channel), Is.True, string.Join("\n", restarted.StandardError));
        var list = await new TaskDefinitionService.TaskDefinitionServiceClient(channel)
            .ListTaskDefinitionsAsync(new ListTaskDefinitionsRequest { MaxResults = 1000 });
        Assert.That(list.TaskDefinitionArns, Is.EquivalentTo(acknowledged));
    }

    [Test]
    public void A_port_in_use_stops_it_with_one_line_and_exit_code_3()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        using var daemon = DaemonProcess.StartScheduler(DbPath, port);
        Assert.Multiple(() =>
        {
            Assert.That(daemon.WaitForExit(), Is.EqualTo(3));
            Assert.That(daemon.StandardError, Is.EqualTo(new[] { $"orchestrator-scheduler: cannot listen on 127.0.0.1:{port}: address already in use" }));
        });
    }

    [TestCase(25_600, TestName = "A file of no whole pages is refused untouched")]
    [TestCase(65_536, TestName = "A file of garbage pages is refused untouched")]
    public void A_corrupt_database_stops_it_with_one_line_and_exit_code_2_and_is_never_overwritten(int size)
    {
        var garbage = Enumerable.Range(0, size).Select(i => (byte)(i * 7 % 256)).ToArray();
        File.WriteAllBytes(DbPath, garbage);
        using var daemon = DaemonProcess.StartScheduler(DbPath, DaemonProcess.FreePort());
        Assert.Multiple(() =>
        {
            Assert.That(daemon.WaitForExit(), Is.EqualTo(2));
            Assert.That(daemon.StandardError, Has.Count.EqualTo(1));
            Assert.That(daemon.StandardError[0], Does.StartWith($"orchestrator-scheduler: cannot open the state database {DbPath}: "));
            Assert.That(File.ReadAllBytes(DbPath), Is.EqualTo(garbage));
        });
    }

    [Test]
    public void An_unwritable_data_path_stops_it_with_one_line_and_exit_code_2()
    {
        File.WriteAllText(Path.Combine(_directory, "not-a-directory"), "");
        var path = Path.Combine(_directory, "not-a-directory", "scheduler.db");
        using var daemon = DaemonProcess.StartScheduler(path, DaemonProcess.FreePort());
        Assert.Multiple(() =>
        {
            Assert.That(daemon.WaitForExit(), Is.EqualTo(2));
            Assert.That(daemon.StandardError.Single(), Does.StartWith($"orchestrator-scheduler: cannot open the state database {path}: "));
        });
    }

    [TestCase("--Scheduler:DynamicPortRange=9-1", "orchestrator-scheduler: bad setting: Scheduler:DynamicPortRange must be \"first-last\" within 1-65535, not \"9-1\"")]
    [TestCase("--Scheduler:StoppedTaskRetention=soon", "orchestrator-scheduler: bad setting: Failed to convert configuration value 'soon' at 'Scheduler:StoppedTaskRetention' to type 'System.TimeSpan'.")]
    [TestCase("--Scheduler:HeartbeatTimeout=00:00:03", "orchestrator-scheduler: bad setting: Scheduler:HeartbeatTimeout must be longer than Scheduler:HeartbeatInterval (00:00:05), not 00:00:03")]
    [TestCase("--Scheduler:HeartbeatInterval=00:00:00.500", "orchestrator-scheduler: bad setting: Scheduler:HeartbeatInterval must be from 00:00:01 to 00:05:00, not 00:00:00.5000000")]
    [TestCase("--Scheduler:NodeCertificateLifetime=00:01:00", "orchestrator-scheduler: bad setting: Scheduler:NodeCertificateLifetime must be at least 10 minutes, not 00:01:00")]
    [TestCase("--Scheduler:Listen=nowhere", "orchestrator-scheduler: Scheduler:Listen must be an address and port such as 127.0.0.1:7400, not \"nowhere\"")]
    public void A_bad_setting_stops_it_with_one_line_and_exit_code_1(string setting, string line)
    {
        using var daemon = DaemonProcess.StartScheduler(DbPath, DaemonProcess.FreePort(), setting);
        Assert.Multiple(() =>
        {
            Assert.That(daemon.WaitForExit(), Is.EqualTo(1));
            Assert.That(daemon.StandardError, Is.EqualTo(new[] { line }));
        });
    }
}
