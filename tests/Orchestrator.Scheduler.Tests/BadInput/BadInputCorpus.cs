using Grpc.Core;
using Grpc.Net.Client;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Tests.Integration;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.BadInput;

/// <summary>The public API's clients over one channel, in-process or to a running daemon.</summary>
internal sealed class ApiClients(GrpcChannel channel)
{
    public GrpcChannel Channel { get; } = channel;
    public ClusterService.ClusterServiceClient Clusters { get; } = new(channel);
    public TaskDefinitionService.TaskDefinitionServiceClient TaskDefinitions { get; } = new(channel);
    public NodeService.NodeServiceClient Nodes { get; } = new(channel);
    public TaskService.TaskServiceClient Tasks { get; } = new(channel);
    public ServiceService.ServiceServiceClient Services { get; } = new(channel);
    public AgentService.AgentServiceClient Agents { get; } = new(channel);
    public TagService.TagServiceClient Tags { get; } = new(channel);
    public TokenService.TokenServiceClient Tokens { get; } = new(channel);
    public SecretService.SecretServiceClient Secrets { get; } = new(channel);
}

/// <summary>
/// Malformed requests for every RPC, each with the status and message it must get. The scheduler
/// under test has the "web" task definition and a connected node "n1" whose agent gives it the
/// attribute zone=a (see <see cref="PrepareAsync"/>).
/// </summary>
internal static class BadInputCorpus
{
    private const string Missing = "0123456789abcdef0123456789abcdef";

    internal sealed record BadCall(string Name, Func<ApiClients, Task> Call, StatusCode Status, string Detail)
    {
        public override string ToString() => Name;
    }

    private static BadCall Case(string name, Func<ApiClients, Task> call, StatusCode status, string detail) => new(name, call, status, detail);

    public static IEnumerable<BadCall> Cases()
    {
        // Clusters
        yield return Case("CreateCluster without a name", h => h.Clusters.CreateClusterAsync(new CreateClusterRequest()).ResponseAsync, StatusCode.InvalidArgument, "name: cluster name is required");
        yield return Case("CreateCluster with a bad name", h => h.Clusters.CreateClusterAsync(new CreateClusterRequest { Name = "a/b" }).ResponseAsync, StatusCode.InvalidArgument, "name: \"a/b\" is not a valid cluster name: use 1 to 255 letters, digits, hyphens and underscores");
        yield return Case("CreateCluster with a huge name", h => h.Clusters.CreateClusterAsync(new CreateClusterRequest { Name = new string('x', 100_000) }).ResponseAsync, StatusCode.InvalidArgument, "name: \"" + new string('x', 61) + "...\" is not a valid cluster name: use 1 to 255 letters, digits, hyphens and underscores");
        yield return Case("DescribeClusters with too many names", h => h.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Names = { Enumerable.Repeat("a", 101) } }).ResponseAsync, StatusCode.InvalidArgument, "names: at most 100 allowed, got 101");
        yield return Case("ListClusters with a negative page", h => h.Clusters.ListClustersAsync(new ListClustersRequest { MaxResults = -1 }).ResponseAsync, StatusCode.InvalidArgument, "maxResults: must be between 1 and 1000, not -1");
        yield return Case("ListClusters with a forged token", h => h.Clusters.ListClustersAsync(new ListClustersRequest { NextToken = "***" }).ResponseAsync, StatusCode.InvalidArgument, "nextToken: is not a token from a previous page");
        yield return Case("DeleteCluster unknown", h => h.Clusters.DeleteClusterAsync(new DeleteClusterRequest { Name = "nope" }).ResponseAsync, StatusCode.NotFound, "name: cluster \"nope\" does not exist");
        yield return Case("DeleteCluster with an empty name (never the default cluster)", h => h.Clusters.DeleteClusterAsync(new DeleteClusterRequest()).ResponseAsync, StatusCode.InvalidArgument, "name: cluster name is required");

        // Task definitions
        yield return Case("Register with a small memory", h => h.TaskDefinitions.RegisterTaskDefinitionAsync(Spoiled(r => r.ContainerDefinitions[0].Memory = 5)).ResponseAsync, StatusCode.InvalidArgument, "containerDefinitions[0].memory: must be at least 6 MiB");
        yield return Case("Register with an overflowing cpu", h => h.TaskDefinitions.RegisterTaskDefinitionAsync(Spoiled(r => r.ContainerDefinitions[0].Cpu = int.MaxValue)).ResponseAsync, StatusCode.InvalidArgument, "containerDefinitions[0].cpu: must be at most 262144 CPU units, not 2147483647");
        yield return Case("Register with 1001 arguments", h => h.TaskDefinitions.RegisterTaskDefinitionAsync(Spoiled(r => r.ContainerDefinitions[0].Command.AddRange(Enumerable.Repeat("x", 1001 - r.ContainerDefinitions[0].Command.Count)))).ResponseAsync, StatusCode.InvalidArgument, "containerDefinitions[0].command: at most 1000 allowed, got 1001");
        yield return Case("Register with an unknown protocol", h => h.TaskDefinitions.RegisterTaskDefinitionAsync(Spoiled(r => r.ContainerDefinitions[0].PortMappings.Add(new PortMapping { ContainerPort = 1, Protocol = (TransportProtocol)77 }))).ResponseAsync, StatusCode.InvalidArgument, "containerDefinitions[0].portMappings[0].protocol: unknown protocol 77; use TRANSPORT_PROTOCOL_TCP or TRANSPORT_PROTOCOL_UDP");
        var big = Spoiled(r => r.ContainerDefinitions[0].Environment.Add(new EnvironmentVariable { Name = "BIG", Value = new string('x', 5_000_000) }));
        yield return Case("Register over the message size limit", h => h.TaskDefinitions.RegisterTaskDefinitionAsync(big).ResponseAsync, StatusCode.ResourceExhausted,
            $"the request message exceeds the maximum size of 4194304 bytes: its frame announces {big.CalculateSize()}");
        yield return Case("Describe without a reference", h => h.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest()).ResponseAsync, StatusCode.InvalidArgument, "taskDefinition: is required: \"family\" or \"family:revision\"");
        yield return Case("Describe an unknown family", h => h.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = "nope" }).ResponseAsync, StatusCode.NotFound, "taskDefinition: task definition family \"nope\" does not exist");
        yield return Case("Describe an unknown revision", h => h.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = "web:9" }).ResponseAsync, StatusCode.NotFound, "taskDefinition: task definition \"web:9\" does not exist (latest revision is 1)");
        yield return Case("Describe a non-numeric revision", h => h.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = "web:x" }).ResponseAsync, StatusCode.InvalidArgument, "taskDefinition: \"web:x\" is not \"family\" or \"family:revision\" with a revision of 1 or more");
        yield return Case("Describe a negative revision", h => h.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = "web:-1" }).ResponseAsync, StatusCode.InvalidArgument, "taskDefinition: \"web:-1\" is not \"family\" or \"family:revision\" with a revision of 1 or more");
        yield return Case("List with an unknown status", h => h.TaskDefinitions.ListTaskDefinitionsAsync(new ListTaskDefinitionsRequest { Status = (TaskDefinitionStatus)9 }).ResponseAsync, StatusCode.InvalidArgument, "status: unknown status 9");
        yield return Case("List families with a huge page", h => h.TaskDefinitions.ListTaskDefinitionFamiliesAsync(new ListTaskDefinitionFamiliesRequest { MaxResults = 5000 }).ResponseAsync, StatusCode.InvalidArgument, "maxResults: must be between 1 and 1000, not 5000");
        yield return Case("Describe a malformed revision of an unknown family", h => h.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = "nope:x" }).ResponseAsync, StatusCode.InvalidArgument, "taskDefinition: \"nope:x\" is not \"family\" or \"family:revision\" with a revision of 1 or more");
        yield return Case("Register with a reserved tag key", h => h.TaskDefinitions.RegisterTaskDefinitionAsync(Spoiled(r => r.Tags.Add(new Tag { Key = "orchestrator:owner", Value = "x" }))).ResponseAsync, StatusCode.InvalidArgument, "tags[0].key: keys starting with \"orchestrator:\" are reserved");
        yield return Case("Register with a mount of an unknown volume", h => h.TaskDefinitions.RegisterTaskDefinitionAsync(Spoiled(r => r.ContainerDefinitions[0].MountPoints.Add(new MountPoint { SourceVolume = "data", ContainerPath = "/data" }))).ResponseAsync, StatusCode.InvalidArgument, "containerDefinitions[0].mountPoints[0].sourceVolume: no volume named \"data\" in volumes");
        yield return Case("Register with a host path climbing out", h => h.TaskDefinitions.RegisterTaskDefinitionAsync(Spoiled(r => r.Volumes.Add(new Volume { Name = "data", Host = new HostVolumeProperties { SourcePath = "/srv/../var/run/docker.sock" } }))).ResponseAsync, StatusCode.InvalidArgument,
            "volumes[0].host.sourcePath: \"/srv/../var/run/docker.sock\" is not an absolute, normalized path: it starts with '/' and has no empty, \".\" or \"..\" segment and no trailing '/'");
        yield return Case("Register with a dependency cycle", h => h.TaskDefinitions.RegisterTaskDefinitionAsync(Spoiled(r =>
        {
            r.ContainerDefinitions.Add(new ContainerDefinition { Name = "db", Image = "orchestrator-test/busybox", Memory = 64, DependsOn = { new ContainerDependency { ContainerName = "app", Condition = "START" } } });
            r.ContainerDefinitions[0].DependsOn.Add(new ContainerDependency { ContainerName = "db", Condition = "START" });
        })).ResponseAsync, StatusCode.InvalidArgument, "containerDefinitions[0].dependsOn: a cycle: app -> db -> app");
        yield return Case("Register with a secret file outside /run/secrets", h => h.TaskDefinitions.RegisterTaskDefinitionAsync(Spoiled(r => r.ContainerDefinitions[0].Secrets.Add(new Secret { Name = "../../etc/shadow", ValueFrom = "db-password", AsFile = true }))).ResponseAsync, StatusCode.InvalidArgument,
            "containerDefinitions[0].secrets[0].name: \"../../etc/shadow\" is not a file name: 1 to 255 characters without '/' or control characters, not \".\" or \"..\"");
        yield return Case("Register with an unknown network mode", h => h.TaskDefinitions.RegisterTaskDefinitionAsync(Spoiled(r => r.NetworkMode = "container:other")).ResponseAsync, StatusCode.InvalidArgument, "networkMode: must be \"bridge\", \"host\", \"none\" or \"awsvpc\", not \"container:other\"");
        yield return Case("Register with distinctInstance", h => h.TaskDefinitions.RegisterTaskDefinitionAsync(Spoiled(r => r.PlacementConstraints.Add(new PlacementConstraint { Type = "distinctInstance" }))).ResponseAsync, StatusCode.InvalidArgument,
            "placementConstraints[0].type: a task definition takes \"memberOf\" constraints only (give distinctInstance to RunTask or the service), not \"distinctInstance\"");
        yield return Case("Register with a log size in words", h => h.TaskDefinitions.RegisterTaskDefinitionAsync(Spoiled(r => r.ContainerDefinitions[0].LogConfiguration = new LogConfiguration { LogDriver = "json-file", Options = { ["max-size"] = "ten megabytes" } })).ResponseAsync, StatusCode.InvalidArgument,
            "containerDefinitions[0].logConfiguration.options[max-size]: \"ten megabytes\" is not a size: a positive number and an optional unit k, m or g (e.g. 10m, 1g, 500k)");
        yield return Case("DeleteTaskDefinitions of nothing", h => h.TaskDefinitions.DeleteTaskDefinitionsAsync(new DeleteTaskDefinitionsRequest()).ResponseAsync, StatusCode.InvalidArgument, "taskDefinitions: name at least one revision, \"family:revision\"");
        yield return Case("DeleteTaskDefinitions of a family", h => h.TaskDefinitions.DeleteTaskDefinitionsAsync(new DeleteTaskDefinitionsRequest { TaskDefinitions = { "web:1", "web" } }).ResponseAsync, StatusCode.InvalidArgument, "taskDefinitions[1]: \"web\" must name a revision, \"family:revision\"");
        yield return Case("DeleteTaskDefinitions of eleven", h => h.TaskDefinitions.DeleteTaskDefinitionsAsync(new DeleteTaskDefinitionsRequest { TaskDefinitions = { Enumerable.Range(1, 11).Select(i => $"web:{i}") } }).ResponseAsync, StatusCode.InvalidArgument, "taskDefinitions: at most 10 allowed, got 11");
        yield return Case("Deregister a family", h => h.TaskDefinitions.DeregisterTaskDefinitionAsync(new DeregisterTaskDefinitionRequest { TaskDefinition = "web" }).ResponseAsync, StatusCode.InvalidArgument, "taskDefinition: must name a revision, \"family:revision\"");

        // Nodes
        yield return Case("ListNodes of an unknown cluster", h => h.Nodes.ListNodesAsync(new ListNodesRequest { Cluster = "nope" }).ResponseAsync, StatusCode.NotFound, "cluster: cluster \"nope\" does not exist");
        yield return Case("ListNodes with an unknown status", h => h.Nodes.ListNodesAsync(new ListNodesRequest { Status = (NodeStatus)42 }).ResponseAsync, StatusCode.InvalidArgument, "status: must be NODE_STATUS_ACTIVE or NODE_STATUS_DRAINING, not 42");
        yield return Case("DescribeNodes of an unknown cluster without names", h => h.Nodes.DescribeNodesAsync(new DescribeNodesRequest { Cluster = "nope" }).ResponseAsync, StatusCode.NotFound, "cluster: cluster \"nope\" does not exist");
        yield return Case("DescribeNodes without names", h => h.Nodes.DescribeNodesAsync(new DescribeNodesRequest()).ResponseAsync, StatusCode.InvalidArgument, "names: name at least one node");
        yield return Case("DescribeNodes with a bad name", h => h.Nodes.DescribeNodesAsync(new DescribeNodesRequest { Names = { "ok", "bad name" } }).ResponseAsync, StatusCode.InvalidArgument, "names[1]: \"bad name\" is not a valid node name: use 1 to 255 letters, digits, dots, hyphens and underscores");
        yield return Case("UpdateNodeStatus to INACTIVE", h => h.Nodes.UpdateNodeStatusAsync(new UpdateNodeStatusRequest { Name = "n1", Status = NodeStatus.Inactive }).ResponseAsync, StatusCode.InvalidArgument, "status: must be NODE_STATUS_ACTIVE or NODE_STATUS_DRAINING; use DeregisterNode to make a node INACTIVE");
        yield return Case("UpdateNodeStatus unspecified", h => h.Nodes.UpdateNodeStatusAsync(new UpdateNodeStatusRequest { Name = "n1" }).ResponseAsync, StatusCode.InvalidArgument, "status: must be NODE_STATUS_ACTIVE or NODE_STATUS_DRAINING, not Unspecified");
        yield return Case("UpdateNodeStatus of an unknown node", h => h.Nodes.UpdateNodeStatusAsync(new UpdateNodeStatusRequest { Name = "n9", Status = NodeStatus.Draining }).ResponseAsync, StatusCode.NotFound, "name: node \"n9\" does not exist in cluster \"default\"");
        yield return Case("PutAttributes of nothing", h => h.Nodes.PutAttributesAsync(new PutAttributesRequest()).ResponseAsync, StatusCode.InvalidArgument, "attributes: give at least one attribute");
        yield return Case("PutAttributes on an unknown node", h => h.Nodes.PutAttributesAsync(new PutAttributesRequest { Attributes = { new Contracts.V1.Attribute { Name = "rack", Value = "r1", TargetId = "n9" } } }).ResponseAsync, StatusCode.NotFound, "attributes[0].targetId: node \"n9\" does not exist in cluster \"default\"");
        yield return Case("PutAttributes without a node", h => h.Nodes.PutAttributesAsync(new PutAttributesRequest { Attributes = { new Contracts.V1.Attribute { Name = "rack", Value = "r1" } } }).ResponseAsync, StatusCode.InvalidArgument, "attributes[0].targetId: node name is required");
        yield return Case("PutAttributes with a bad name", h => h.Nodes.PutAttributesAsync(new PutAttributesRequest { Attributes = { new Contracts.V1.Attribute { Name = "rack id", TargetId = "n1" } } }).ResponseAsync, StatusCode.InvalidArgument, "attributes[0].name: \"rack id\" is not a valid attribute name: use 1 to 128 letters, digits, hyphens, underscores, periods, slashes and backslashes");
        yield return Case("PutAttributes with a value ending in a space", h => h.Nodes.PutAttributesAsync(new PutAttributesRequest { Attributes = { new Contracts.V1.Attribute { Name = "rack", Value = "r1 ", TargetId = "n1" } } }).ResponseAsync, StatusCode.InvalidArgument, "attributes[0].value: \"r1 \" is not a valid attribute value: use up to 128 letters, digits, hyphens, underscores, periods, at signs, slashes, backslashes, colons and spaces, not starting or ending with a space");
        yield return Case("PutAttributes with another target type", h => h.Nodes.PutAttributesAsync(new PutAttributesRequest { Attributes = { new Contracts.V1.Attribute { Name = "rack", TargetId = "n1", TargetType = "task" } } }).ResponseAsync, StatusCode.InvalidArgument, "attributes[0].targetType: must be \"node\", not \"task\"");
        yield return Case("PutAttributes over the agent's own", h => h.Nodes.PutAttributesAsync(new PutAttributesRequest { Attributes = { new Contracts.V1.Attribute { Name = "rack", Value = "r1", TargetId = "n1" }, new Contracts.V1.Attribute { Name = "zone", Value = "b", TargetId = "n1" } } }).ResponseAsync, StatusCode.FailedPrecondition, "attributes[1].name: \"zone\" is an attribute of node \"n1\"'s agent; change it in the agent's settings");
        yield return Case("PutAttributes of eleven", h => h.Nodes.PutAttributesAsync(new PutAttributesRequest { Attributes = { Enumerable.Range(0, 11).Select(i => new Contracts.V1.Attribute { Name = $"a{i}", TargetId = "n1" }) } }).ResponseAsync, StatusCode.InvalidArgument, "attributes: at most 10 allowed, got 11");
        yield return Case("DeleteAttributes of the agent's own", h => h.Nodes.DeleteAttributesAsync(new DeleteAttributesRequest { Attributes = { new Contracts.V1.Attribute { Name = "zone", TargetId = "n1" } } }).ResponseAsync, StatusCode.FailedPrecondition, "attributes[0].name: \"zone\" is an attribute of node \"n1\"'s agent; it cannot be deleted here");
        yield return Case("ListAttributes by value without a name", h => h.Nodes.ListAttributesAsync(new ListAttributesRequest { AttributeValue = "a" }).ResponseAsync, StatusCode.InvalidArgument, "attributeValue: needs attributeName");
        yield return Case("DeregisterNode without a name", h => h.Nodes.DeregisterNodeAsync(new DeregisterNodeRequest()).ResponseAsync, StatusCode.InvalidArgument, "name: node name is required");

        // Tasks
        yield return Case("RunTask without a definition", h => h.Tasks.RunTaskAsync(new RunTaskRequest()).ResponseAsync, StatusCode.InvalidArgument, "taskDefinition: is required: \"family\" or \"family:revision\"");
        yield return Case("RunTask with a negative count", h => h.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = -3 }).ResponseAsync, StatusCode.InvalidArgument, "count: must be between 1 and 1000, not -3");
        yield return Case("RunTask with a huge count", h => h.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = int.MaxValue }).ResponseAsync, StatusCode.InvalidArgument, "count: must be between 1 and 1000, not 2147483647");
        yield return Case("RunTask of an unknown family", h => h.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "nope" }).ResponseAsync, StatusCode.NotFound, "taskDefinition: task definition family \"nope\" does not exist");
        yield return Case("RunTask in an unknown cluster", h => h.Tasks.RunTaskAsync(new RunTaskRequest { Cluster = "nope", TaskDefinition = "web" }).ResponseAsync, StatusCode.NotFound, "cluster: cluster \"nope\" does not exist");
        yield return Case("RunTask with an unknown strategy", h => h.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", PlacementStrategy = { new PlacementStrategy { Type = "binpack", Field = "cpu" }, new PlacementStrategy { Type = "pack" } } }).ResponseAsync, StatusCode.InvalidArgument, "placementStrategy[1].type: must be \"binpack\", \"spread\" or \"random\", not \"pack\"");
        yield return Case("RunTask binpack on disk", h => h.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", PlacementStrategy = { new PlacementStrategy { Type = "binpack", Field = "disk" } } }).ResponseAsync, StatusCode.InvalidArgument, "placementStrategy[0].field: binpack takes \"cpu\" or \"memory\", not \"disk\"");
        yield return Case("RunTask with six strategies", h => h.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", PlacementStrategy = { Enumerable.Range(0, 6).Select(_ => new PlacementStrategy { Type = "random" }) } }).ResponseAsync, StatusCode.InvalidArgument, "placementStrategy: at most 5 allowed, got 6");
        yield return Case("RunTask with a malformed expression", h => h.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = "attribute:zone == " } } }).ResponseAsync, StatusCode.InvalidArgument, "placementConstraints[0].expression: expected a value after '==' but found end of expression at position 19");
        yield return Case("RunTask with an unknown constraint", h => h.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", PlacementConstraints = { new PlacementConstraint { Type = "sameZone" } } }).ResponseAsync, StatusCode.InvalidArgument, "placementConstraints[0].type: must be \"distinctInstance\" or \"memberOf\", not \"sameZone\"");
        yield return Case("RunTask with a long client token", h => h.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", ClientToken = new string('t', 65) }).ResponseAsync, StatusCode.InvalidArgument, "clientToken: must be at most 64 characters, not 65");
        yield return Case("RunTask propagating the service's tags", h => h.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", PropagateTags = "SERVICE" }).ResponseAsync, StatusCode.InvalidArgument, "propagateTags: must be \"TASK_DEFINITION\" or \"NONE\" for RunTask, not \"SERVICE\"");
        yield return Case("RunTask with a tag value too long", h => h.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Tags = { new Tag { Key = "k", Value = new string('v', 257) } } }).ResponseAsync, StatusCode.InvalidArgument, "tags[0].value: must be at most 256 characters, not 257");
        yield return Case("UpdateTaskProtection for 49 hours", h => h.Tasks.UpdateTaskProtectionAsync(new UpdateTaskProtectionRequest { Tasks = { Missing }, ProtectionEnabled = true, ExpiresInMinutes = 2940 }).ResponseAsync, StatusCode.InvalidArgument, "expiresInMinutes: must be between 1 and 2880 (48 hours), not 2940");
        yield return Case("UpdateTaskProtection of no task", h => h.Tasks.UpdateTaskProtectionAsync(new UpdateTaskProtectionRequest { ProtectionEnabled = true }).ResponseAsync, StatusCode.InvalidArgument, "tasks: name at least one task id");
        yield return Case("GetTaskProtection with a bad id", h => h.Tasks.GetTaskProtectionAsync(new GetTaskProtectionRequest { Tasks = { "x" } }).ResponseAsync, StatusCode.InvalidArgument, "tasks[0]: \"x\" is not a task id (32 lowercase hex digits)");
        yield return Case("DescribeTasks of an unknown cluster without ids", h => h.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = "nope" }).ResponseAsync, StatusCode.NotFound, "cluster: cluster \"nope\" does not exist");
        yield return Case("StopTask without an id", h => h.Tasks.StopTaskAsync(new StopTaskRequest()).ResponseAsync, StatusCode.InvalidArgument, "task: task id is required");
        yield return Case("StopTask with a bad id", h => h.Tasks.StopTaskAsync(new StopTaskRequest { Task = "../etc/passwd" }).ResponseAsync, StatusCode.InvalidArgument, "task: \"../etc/passwd\" is not a task id (32 lowercase hex digits)");
        yield return Case("StopTask of an unknown task", h => h.Tasks.StopTaskAsync(new StopTaskRequest { Task = Missing }).ResponseAsync, StatusCode.NotFound, $"task: task \"{Missing}\" does not exist in cluster \"default\"");
        yield return Case("StopTask with a huge reason", h => h.Tasks.StopTaskAsync(new StopTaskRequest { Task = Missing, Reason = new string('r', 2000) }).ResponseAsync, StatusCode.InvalidArgument, "reason: must be at most 1024 characters, not 2000");
        yield return Case("DescribeTasks without ids", h => h.Tasks.DescribeTasksAsync(new DescribeTasksRequest()).ResponseAsync, StatusCode.InvalidArgument, "tasks: name at least one task id");
        yield return Case("DescribeTasks with a bad id", h => h.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { Missing, "x" } }).ResponseAsync, StatusCode.InvalidArgument, "tasks[1]: \"x\" is not a task id (32 lowercase hex digits)");
        yield return Case("ListTasks with desired PENDING", h => h.Tasks.ListTasksAsync(new ListTasksRequest { DesiredStatus = TaskStatus.Pending }).ResponseAsync, StatusCode.InvalidArgument, "desiredStatus: must be TASK_STATUS_RUNNING or TASK_STATUS_STOPPED, not Pending");
        yield return Case("ListTasks with a bad cluster", h => h.Tasks.ListTasksAsync(new ListTasksRequest { Cluster = "a b" }).ResponseAsync, StatusCode.InvalidArgument, "cluster: \"a b\" is not a valid cluster name: use 1 to 255 letters, digits, hyphens and underscores");
        yield return Case("WatchTasks in an unknown cluster", h => ReadFirst(h.Tasks.WatchTasks(new WatchTasksRequest { Cluster = "nope" })), StatusCode.NotFound, "cluster: cluster \"nope\" does not exist");

        // Services
        yield return Case("CreateService without a name", h => h.Services.CreateServiceAsync(new CreateServiceRequest { TaskDefinition = "web" }).ResponseAsync, StatusCode.InvalidArgument, "serviceName: service name is required");
        yield return Case("CreateService with a huge count", h => h.Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "s", TaskDefinition = "web", DesiredCount = int.MaxValue }).ResponseAsync, StatusCode.InvalidArgument, "desiredCount: must be between 0 and 10000, not 2147483647");
        yield return Case("CreateService with a malformed constraint", h => h.Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "s", TaskDefinition = "web", PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = "(" } } }).ResponseAsync, StatusCode.InvalidArgument, "placementConstraints[0].expression: expected 'attribute:NAME', 'name', '!' or '(' but found end of expression at position 2");
        yield return Case("CreateTaskSet at 150 %", h => h.Services.CreateTaskSetAsync(new CreateTaskSetRequest { Service = "s", TaskDefinition = "web", Scale = new Scale { Value = 150, Unit = "PERCENT" } }).ResponseAsync, StatusCode.InvalidArgument, "scale.value: must be between 0 and 100 (percent), not 150");
        yield return Case("CreateTaskSet in another unit", h => h.Services.CreateTaskSetAsync(new CreateTaskSetRequest { Service = "s", TaskDefinition = "web", Scale = new Scale { Value = 5, Unit = "COUNT" } }).ResponseAsync, StatusCode.InvalidArgument, "scale.unit: must be \"PERCENT\", not \"COUNT\"");
        yield return Case("CreateTaskSet for an unknown service", h => h.Services.CreateTaskSetAsync(new CreateTaskSetRequest { Service = "nope", TaskDefinition = "web" }).ResponseAsync, StatusCode.NotFound, "service: service \"nope\" does not exist in cluster \"default\"");
        yield return Case("UpdateTaskSet without a scale", h => h.Services.UpdateTaskSetAsync(new UpdateTaskSetRequest { Service = "s", TaskSet = "ecs-svc/x" }).ResponseAsync, StatusCode.InvalidArgument, "scale: is required: {value (0..100), unit PERCENT}");
        yield return Case("UpdateService of an unknown service", h => h.Services.UpdateServiceAsync(new UpdateServiceRequest { Service = "nope", DesiredCount = 1 }).ResponseAsync, StatusCode.NotFound, "service: service \"nope\" does not exist in cluster \"default\"");
        yield return Case("DeleteService without a name", h => h.Services.DeleteServiceAsync(new DeleteServiceRequest()).ResponseAsync, StatusCode.InvalidArgument, "service: service name is required");
        yield return Case("DescribeServices without names", h => h.Services.DescribeServicesAsync(new DescribeServicesRequest()).ResponseAsync, StatusCode.InvalidArgument, "services: name at least one service");
        yield return Case("CreateService with unknown tag propagation", h => h.Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "s", TaskDefinition = "web", PropagateTags = "ALL" }).ResponseAsync, StatusCode.InvalidArgument, "propagateTags: must be \"SERVICE\", \"TASK_DEFINITION\" or \"NONE\", not \"ALL\"");
        yield return Case("ListServices by an unknown scheduling strategy", h => h.Services.ListServicesAsync(new ListServicesRequest { SchedulingStrategy = "BATCH" }).ResponseAsync, StatusCode.InvalidArgument, "schedulingStrategy: must be \"REPLICA\" or \"DAEMON\", not \"BATCH\"");
        yield return Case("DescribeServices of an unknown cluster without names", h => h.Services.DescribeServicesAsync(new DescribeServicesRequest { Cluster = "nope" }).ResponseAsync, StatusCode.NotFound, "cluster: cluster \"nope\" does not exist");
        yield return Case("ListServices in an unknown cluster", h => h.Services.ListServicesAsync(new ListServicesRequest { Cluster = "nope" }).ResponseAsync, StatusCode.NotFound, "cluster: cluster \"nope\" does not exist");

        // Tags
        yield return Case("TagResource of a malformed resource", h => h.Tags.TagResourceAsync(new TagResourceRequest { ResourceArn = "clusters/default", Tags = { new Tag { Key = "k" } } }).ResponseAsync, StatusCode.InvalidArgument, "resourceArn: \"clusters/default\" names no resource: use cluster/NAME, task-definition/FAMILY:REVISION, service/CLUSTER/NAME, task/CLUSTER/TASK_ID or node/CLUSTER/NAME");
        yield return Case("TagResource of an unknown task", h => h.Tags.TagResourceAsync(new TagResourceRequest { ResourceArn = $"task/default/{Missing}", Tags = { new Tag { Key = "k" } } }).ResponseAsync, StatusCode.NotFound, $"resourceArn: task \"{Missing}\" does not exist in cluster \"default\"");
        yield return Case("TagResource of an unknown cluster", h => h.Tags.TagResourceAsync(new TagResourceRequest { ResourceArn = "cluster/nope", Tags = { new Tag { Key = "k" } } }).ResponseAsync, StatusCode.NotFound, "resourceArn: cluster \"nope\" does not exist");
        yield return Case("TagResource without tags", h => h.Tags.TagResourceAsync(new TagResourceRequest { ResourceArn = "node/default/n1" }).ResponseAsync, StatusCode.InvalidArgument, "tags: give at least one tag");
        yield return Case("TagResource past 50 tags", h => h.Tags.TagResourceAsync(new TagResourceRequest { ResourceArn = "node/default/n1", Tags = { Enumerable.Range(0, 51).Select(i => new Tag { Key = $"k{i}" }) } }).ResponseAsync, StatusCode.InvalidArgument, "tags: at most 50 tags per resource, got 51");
        yield return Case("TagResource with a key too long", h => h.Tags.TagResourceAsync(new TagResourceRequest { ResourceArn = "cluster/default", Tags = { new Tag { Key = new string('k', 129) } } }).ResponseAsync, StatusCode.InvalidArgument, "tags[0].key: must be at most 128 characters, not 129");
        yield return Case("TagResource with a key twice", h => h.Tags.TagResourceAsync(new TagResourceRequest { ResourceArn = "cluster/default", Tags = { new Tag { Key = "k", Value = "1" }, new Tag { Key = "k", Value = "2" } } }).ResponseAsync, StatusCode.InvalidArgument, "tags[1].key: \"k\" is given twice");
        yield return Case("TagResource with a control character", h => h.Tags.TagResourceAsync(new TagResourceRequest { ResourceArn = "cluster/default", Tags = { new Tag { Key = "k", Value = "a\nb" } } }).ResponseAsync, StatusCode.InvalidArgument, "tags[0].value: \"a\\nb\" has a character tags cannot have: use letters, digits, spaces and + - = . _ : / @");
        yield return Case("UntagResource without keys", h => h.Tags.UntagResourceAsync(new UntagResourceRequest { ResourceArn = "cluster/default" }).ResponseAsync, StatusCode.InvalidArgument, "tagKeys: give at least one tag key");
        yield return Case("ListTagsForResource of an unknown revision", h => h.Tags.ListTagsForResourceAsync(new ListTagsForResourceRequest { ResourceArn = "task-definition/web:7" }).ResponseAsync, StatusCode.NotFound, "resourceArn: task definition \"web:7\" does not exist (latest revision is 1)");

        // Secrets: no message quotes a value
        yield return Case("PutSecret without a name", h => h.Secrets.PutSecretAsync(new PutSecretRequest { StringValue = "v" }).ResponseAsync, StatusCode.InvalidArgument, "name: secret name is required");
        yield return Case("PutSecret with a slash in its name", h => h.Secrets.PutSecretAsync(new PutSecretRequest { Name = "db/password", StringValue = "v" }).ResponseAsync, StatusCode.InvalidArgument, "name: \"db/password\" is not a valid secret name: use 1 to 128 letters, digits, '-', '_' and '.'");
        yield return Case("PutSecret without a value", h => h.Secrets.PutSecretAsync(new PutSecretRequest { Name = "db" }).ResponseAsync, StatusCode.InvalidArgument, "stringValue: a value is required: stringValue or binaryValue");
        yield return Case("PutSecret over 64 KiB", h => h.Secrets.PutSecretAsync(new PutSecretRequest { Name = "db", BinaryValue = Google.Protobuf.ByteString.CopyFrom(new byte[65537]) }).ResponseAsync, StatusCode.InvalidArgument, "binaryValue: must be at most 65536 bytes, not 65537");
        yield return Case("PutSecret with a long description", h => h.Secrets.PutSecretAsync(new PutSecretRequest { Name = "db", StringValue = "v", Description = new string('d', 1025) }).ResponseAsync, StatusCode.InvalidArgument, "description: must be at most 1024 characters, not 1025");
        yield return Case("DescribeSecret unknown", h => h.Secrets.DescribeSecretAsync(new DescribeSecretRequest { Name = "nope" }).ResponseAsync, StatusCode.NotFound, "name: secret \"nope\" does not exist");
        yield return Case("DescribeSecret with a version", h => h.Secrets.DescribeSecretAsync(new DescribeSecretRequest { Name = "db:1" }).ResponseAsync, StatusCode.InvalidArgument, "name: \"db:1\" is not a valid secret name: use 1 to 128 letters, digits, '-', '_' and '.'");
        yield return Case("ListSecrets with a huge page", h => h.Secrets.ListSecretsAsync(new ListSecretsRequest { MaxResults = 1001 }).ResponseAsync, StatusCode.InvalidArgument, "maxResults: must be between 1 and 1000, not 1001");
        yield return Case("ListSecrets with a forged token", h => h.Secrets.ListSecretsAsync(new ListSecretsRequest { NextToken = "***" }).ResponseAsync, StatusCode.InvalidArgument, "nextToken: is not a token from a previous page");
        yield return Case("ListSecrets with a long prefix", h => h.Secrets.ListSecretsAsync(new ListSecretsRequest { NamePrefix = new string('p', 129) }).ResponseAsync, StatusCode.InvalidArgument, "namePrefix: must be at most 128 characters, not 129");
        yield return Case("DeleteSecret unknown", h => h.Secrets.DeleteSecretAsync(new DeleteSecretRequest { Name = "nope" }).ResponseAsync, StatusCode.NotFound, "name: secret \"nope\" does not exist");

        // Tokens (the corpus's calls carry the admin token)
        yield return Case("CreateToken with an unknown role", h => h.Tokens.CreateTokenAsync(new CreateTokenRequest { Name = "ci", Role = "root" }).ResponseAsync, StatusCode.InvalidArgument, "role: must be \"admin\", \"operator\", \"read-only\" or \"balancer\", not \"root\"");
        yield return Case("CreateToken without a name", h => h.Tokens.CreateTokenAsync(new CreateTokenRequest { Role = "admin" }).ResponseAsync, StatusCode.InvalidArgument, "name: token name is required");
        yield return Case("RevokeToken of an unknown token", h => h.Tokens.RevokeTokenAsync(new RevokeTokenRequest { TokenId = "tok-0000000000000000" }).ResponseAsync, StatusCode.NotFound, "tokenId: token \"tok-0000000000000000\" does not exist");
        yield return Case("RevokeToken without an id", h => h.Tokens.RevokeTokenAsync(new RevokeTokenRequest()).ResponseAsync, StatusCode.InvalidArgument, "tokenId: is required");
        yield return Case("ListClusters with a bearer of nothing", h => h.Clusters.ListClustersAsync(new ListClustersRequest(), new Metadata { { "authorization", "Bearer " } }).ResponseAsync, StatusCode.Unauthenticated, "authorization: must be \"Bearer <token>\"");

        // Bytes that are not the message: a length that runs past the end, and a field number of 0.
        yield return Case("RunTask with truncated bytes", h => Raw(h, "orchestrator.v1.TaskService", "RunTask", [0x0A, 0x05, 0x77]), StatusCode.InvalidArgument,
            "the request is not a valid orchestrator.v1.RunTaskRequest message: While parsing a protocol message, the input ended unexpectedly in the middle of a field.  This could mean either that the input has been truncated or that an embedded message misreported its own length.");
        yield return Case("CreateCluster with field number 0", h => Raw(h, "orchestrator.v1.ClusterService", "CreateCluster", [0x00, 0x01]), StatusCode.InvalidArgument,
            "the request is not a valid orchestrator.v1.CreateClusterRequest message: Protocol message contained an invalid tag (zero).");

        // A string field sent as a number: protobuf skips it as an unknown field, so the name is missing.
        yield return Case("CreateCluster with its name as a number", h => Raw(h, "orchestrator.v1.ClusterService", "CreateCluster", [0x08, 0x2A]), StatusCode.InvalidArgument, "name: cluster name is required");

        // The agent protocol
        yield return Case("Connect without registering", h => ConnectWith(h, new AgentMessage { Heartbeat = new Heartbeat() }), StatusCode.InvalidArgument, "register: the first message must be RegisterNode");
        yield return Case("Connect with no resources", h => ConnectWith(h, new AgentMessage { Register = new RegisterNode { NodeName = "n2" } }), StatusCode.InvalidArgument, "register.resources: cpu and memory must both be more than 0");
        yield return Case("Connect with a bad node name", h => ConnectWith(h, new AgentMessage { Register = new RegisterNode { NodeName = "n 2", Resources = new Resources { Cpu = 1, Memory = 1 } } }), StatusCode.InvalidArgument, "register.nodeName: \"n 2\" is not a valid node name: use 1 to 255 letters, digits, dots, hyphens and underscores");
        yield return Case("Connect to an unknown cluster", h => ConnectWith(h, new AgentMessage { Register = new RegisterNode { Cluster = "nope", NodeName = "n2", Resources = new Resources { Cpu = 1, Memory = 1 } } }), StatusCode.NotFound, "cluster: cluster \"nope\" does not exist");
        yield return Case("Connect and send nothing", h => ConnectWith(h), StatusCode.InvalidArgument, "register: the stream ended before a RegisterNode message");
        yield return Case("Join a cleartext scheduler", h => h.Agents.JoinAsync(new JoinRequest { JoinToken = "ORCH-1-x", NodeName = "n2" }).ResponseAsync, StatusCode.FailedPrecondition, "this scheduler runs with Scheduler:Insecure: agents register by name over cleartext and do not join");
    }

    private static RegisterTaskDefinitionRequest Spoiled(Action<RegisterTaskDefinitionRequest> spoil)
    {
        var request = Integration.SchedulerTest.WebDefinitionFor("web");
        request.ContainerDefinitions[0].PortMappings.Clear();
        spoil(request);
        return request;
    }

    private static async Task ReadFirst(AsyncServerStreamingCall<TaskEvent> call)
    {
        using (call)
        {
            await call.ResponseStream.MoveNext();
        }
    }

    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    /// <summary>Sends raw bytes as a unary request, the way a broken or hostile client could.</summary>
    private static async Task Raw(ApiClients api, string service, string method, byte[] body) =>
        await api.Channel.CreateCallInvoker().AsyncUnaryCall(new Method<byte[], byte[]>(MethodType.Unary, service, method, Bytes, Bytes), null, default, body);

    private static async Task ConnectWith(ApiClients host, params AgentMessage[] messages)
    {
        using var call = host.Agents.Connect();
        foreach (var message in messages)
        {
            await call.RequestStream.WriteAsync(message);
        }

        await call.RequestStream.CompleteAsync();
        while (await call.ResponseStream.MoveNext())
        {
        }
    }

    /// <summary>The state the corpus expects: task definition "web", a connected node "n1".</summary>
    public static async Task<SimulatedAgent> PrepareAsync(ApiClients api)
    {
        await api.TaskDefinitions.RegisterTaskDefinitionAsync(Integration.SchedulerTest.WebDefinitionFor("web"));
        return await SimulatedAgent.ConnectAsync(api.Agents, "n1", attributes: new Dictionary<string, string> { ["zone"] = "a" });
    }

    /// <summary>Everything a user can list, as one string to compare.</summary>
    public static async Task<string> StateAsync(ApiClients api)
    {
        var clusters = await api.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Names = { (await api.Clusters.ListClustersAsync(new ListClustersRequest())).Names } });
        var definitions = await api.TaskDefinitions.ListTaskDefinitionsAsync(new ListTaskDefinitionsRequest { IncludeAllStatuses = true });
        var nodes = await api.Nodes.ListNodesAsync(new ListNodesRequest { IncludeAllStatuses = true });
        var tasks = await api.Tasks.ListTasksAsync(new ListTasksRequest { IncludeAllStatuses = true });
        var services = await api.Services.ListServicesAsync(new ListServicesRequest());
        var tags = await api.Tags.ListTagsForResourceAsync(new ListTagsForResourceRequest { ResourceArn = "task-definition/web:1" });
        var tokens = await api.Tokens.ListTokensAsync(new ListTokensRequest());
        var secrets = await api.Secrets.ListSecretsAsync(new ListSecretsRequest());
        return string.Join("\n", clusters, definitions, nodes, tasks, services, tags, tokens, secrets);
    }
}
