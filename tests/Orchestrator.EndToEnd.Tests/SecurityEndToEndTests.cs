using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Orchestrator.Contracts.V1;
using Orchestrator.Tests.Shared;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.EndToEnd.Tests;

/// <summary>
/// The attack the security issue found, replayed against a running scheduler with a real agent on
/// Docker: a process that is not an agent, with no credentials, tries to register as a node of its own
/// and as the real node (to be handed its tasks and their environment), and to stop tasks, drain and
/// deregister nodes. Every step is refused and nothing changes.
/// </summary>
internal sealed class SecurityEndToEndTests
{
    [Test]
    public async Task A_process_without_credentials_cannot_pose_as_an_agent_nor_change_anything()
    {
        await using var cluster = await Cluster.StartAsync();
        var definition = new ContainerDefinition { Name = "db", Image = Docker.TestImage, Command = { "sleep", "3600" }, Memory = 16, StopTimeoutSeconds = 2 };
        definition.Environment.Add(new EnvironmentVariable { Name = "DB_PASSWORD", Value = "s3cret-of-the-db" });
        await cluster.RegisterAsync("db", definition);
        var task = await cluster.RunAsync("db");
        await cluster.WaitForAsync(task.TaskId, TaskStatus.Running);
        var port = cluster.Port;

        // No client certificate, no token: TLS that trusts anything, as an attacker's client would.
        using var anonymous = GrpcChannel.ForAddress($"https://127.0.0.1:{port}", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } },
        });
        var agents = new AgentService.AgentServiceClient(anonymous);
        var ownNode = await RegisterAsync(agents, "intruder");
        var asRealNode = await RegisterAsync(agents, cluster.Node);
        var join = Assert.ThrowsAsync<RpcException>(async () => await agents.JoinAsync(new JoinRequest { JoinToken = "ORCH-1-" + new string('0', 64) + "-guess", NodeName = "intruder", Csr = ByteString.CopyFrom(Csr()) }));
        var stop = Assert.ThrowsAsync<RpcException>(async () => await new TaskService.TaskServiceClient(anonymous).StopTaskAsync(new StopTaskRequest { Task = task.TaskId }));
        var drain = Assert.ThrowsAsync<RpcException>(async () => await new NodeService.NodeServiceClient(anonymous).UpdateNodeStatusAsync(new UpdateNodeStatusRequest { Name = cluster.Node, Status = NodeStatus.Draining }));
        var deregister = Assert.ThrowsAsync<RpcException>(async () => await new NodeService.NodeServiceClient(anonymous).DeregisterNodeAsync(new DeregisterNodeRequest { Name = cluster.Node, Force = true }));
        using var cleartext = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var plain = Assert.ThrowsAsync<RpcException>(async () => await new TaskService.TaskServiceClient(cleartext).StopTaskAsync(new StopTaskRequest { Task = task.TaskId }, deadline: DateTime.UtcNow.AddSeconds(5)));

        var after = await cluster.DescribeAsync(task.TaskId);
        var node = await cluster.DescribeNodeAsync(0);
        var nodes = (await cluster.Nodes.ListNodesAsync(new ListNodesRequest { IncludeAllStatuses = true })).Nodes.Select(n => n.Name);
        Assert.Multiple(() =>
        {
            Assert.That(ownNode, Is.EqualTo(StatusCode.Unauthenticated), "registering a node of its own");
            Assert.That(asRealNode, Is.EqualTo(StatusCode.Unauthenticated), "registering as the real node");
            Assert.That(join!.StatusCode, Is.EqualTo(StatusCode.Unauthenticated), "joining with a guessed token");
            Assert.That(new[] { stop!.StatusCode, drain!.StatusCode, deregister!.StatusCode }, Is.All.EqualTo(StatusCode.Unauthenticated), "the API without a token");
            Assert.That(plain!.StatusCode, Is.Not.EqualTo(StatusCode.OK), "cleartext to the TLS port");
            Assert.That((after.LastStatus, after.DesiredStatus), Is.EqualTo((TaskStatus.Running, TaskStatus.Running)), "the task runs on");
            Assert.That((node!.Status, node.AgentConnected), Is.EqualTo((NodeStatus.Active, true)), "the real node is untouched");
            Assert.That(nodes, Is.EqualTo(new[] { cluster.Node }), "no node was added");
            Assert.That(cluster.RunningContainersByTask().Keys, Is.EqualTo(new[] { task.TaskId }));
            Assert.That(cluster.Scheduler.StandardOutput.Concat(cluster.Scheduler.StandardError), Has.None.Contains("s3cret-of-the-db"), "no secret in the log");
            Assert.That(cluster.Scheduler.StandardOutput, Has.None.Contains(File.ReadAllText(Path.Combine(cluster.DataDirectory, "admin.token")).Trim()));
        });
    }

    /// <summary>Opens Connect and registers; answers how the scheduler refused it (OK if it did not).</summary>
    private static async Task<StatusCode> RegisterAsync(AgentService.AgentServiceClient agents, string node)
    {
        try
        {
            using var call = agents.Connect();
            await call.RequestStream.WriteAsync(new AgentMessage { Register = new RegisterNode { NodeName = node, Resources = new Resources { Cpu = 1024, Memory = 1024 } } });
            while (await call.ResponseStream.MoveNext())
            {
                if (call.ResponseStream.Current.BodyCase is SchedulerMessage.BodyOneofCase.Registered or SchedulerMessage.BodyOneofCase.StartTask)
                {
                    return StatusCode.OK;
                }
            }

            return call.GetStatus().StatusCode;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }

    private static byte[] Csr()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new CertificateRequest("CN=intruder", key, HashAlgorithmName.SHA256).CreateSigningRequest();
    }
}
