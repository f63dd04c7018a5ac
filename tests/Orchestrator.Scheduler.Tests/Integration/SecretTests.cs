using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Reflection.V1Alpha;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Security;
using Orchestrator.Scheduler.State;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;

namespace Orchestrator.Scheduler.Tests.Integration;

/// <summary>
/// SecretService end to end on the scheduler's side: versions and metadata, placement that pins a
/// version (or refuses a task whose secret is missing), the values in the start commands only, and
/// sealed at rest across a restart.
/// </summary>
internal sealed class SecretTests : SchedulerTest
{
    // Distinctive enough that finding it anywhere is a leak, not a coincidence.
    private const string First = "s3cr3t-first-7d1f0c92ab";
    private const string Second = "s3cr3t-second-4be80e17cd";

    private SecretService.SecretServiceClient Secrets => new(Host.Channel);

    private Task<PutSecretResponse> PutAsync(string name, string value, string description = "") =>
        Secrets.PutSecretAsync(new PutSecretRequest { Name = name, StringValue = value, Description = description }).ResponseAsync;

    /// <summary>The "web" definition whose app container takes these secrets, as DB_0, DB_1, ...</summary>
    private static RegisterTaskDefinitionRequest WithSecrets(params string[] valueFroms)
    {
        var request = WebDefinition();
        request.ContainerDefinitions[0].PortMappings.Clear();
        request.ContainerDefinitions.Add(new ContainerDefinition { Name = "sidecar", Image = "orchestrator-test/busybox", Memory = 64, Essential = false });
        request.ContainerDefinitions[1].Secrets.Add(new Secret { Name = "TOKEN", ValueFrom = "api-token" });
        request.ContainerDefinitions[0].Secrets.AddRange(valueFroms.Select((v, i) => new Secret { Name = $"DB_{i}", ValueFrom = v, AsFile = i % 2 == 1 }));
        return request;
    }

    private static Dictionary<string, string> Values(StartTaskCommand start) =>
        start.SecretValues.ToDictionary(p => p.Key, p => p.Value.ToStringUtf8());

    [Test]
    public async Task Each_put_is_a_new_version_and_every_call_answers_metadata_only()
    {
        var t0 = Host.Clock.GetUtcNow();
        var created = (await PutAsync("db", First, "the database's")).Secret;
        Host.Clock.Advance(TimeSpan.FromMinutes(1));
        var second = (await PutAsync("db", Second)).Secret;
        var third = (await Secrets.PutSecretAsync(new PutSecretRequest { Name = "db", BinaryValue = ByteString.CopyFrom(1, 2, 3), Description = "rotated" })).Secret;
        await PutAsync("api-token", First);
        await PutAsync("db.replica", First);
        var described = (await Secrets.DescribeSecretAsync(new DescribeSecretRequest { Name = "db" })).Secret;

        async Task<(string[] Names, string Next)> List(string prefix = "", int max = 0, string next = "")
        {
            var page = await Secrets.ListSecretsAsync(new ListSecretsRequest { NamePrefix = prefix, MaxResults = max, NextToken = next });
            return ([.. page.Secrets.Select(s => s.Name)], page.NextToken);
        }

        var all = await List();
        var prefixed = await List("db");
        var page1 = await List(max: 2);
        var page2 = await List(max: 2, next: page1.Next);
        Assert.Multiple(() =>
        {
            Assert.That((created.Name, created.LatestVersion, created.Versions, created.Description), Is.EqualTo(("db", 1, new[] { 1 }, "the database's")));
            Assert.That((second.LatestVersion, second.Versions, second.Description), Is.EqualTo((2, new[] { 1, 2 }, "the database's")), "an empty description keeps the one it has");
            Assert.That((second.CreatedAt.ToDateTimeOffset(), second.UpdatedAt.ToDateTimeOffset()), Is.EqualTo((t0, t0.AddMinutes(1))));
            Assert.That((third.LatestVersion, third.Versions, third.Description), Is.EqualTo((3, new[] { 1, 2, 3 }, "rotated")));
            Assert.That(described, Is.EqualTo(third));
            Assert.That(all, Is.EqualTo((new[] { "api-token", "db", "db.replica" }, "")));
            Assert.That(prefixed.Names, Is.EqualTo(new[] { "db", "db.replica" }));
            Assert.That(page1.Names, Is.EqualTo(new[] { "api-token", "db" }));
            Assert.That(page1.Next, Is.Not.Empty);
            Assert.That(page2, Is.EqualTo((new[] { "db.replica" }, "")));
        });
    }

    [Test]
    public async Task A_deleted_secret_is_gone_and_put_again_goes_on_from_its_last_version()
    {
        await PutAsync("db", First);
        await PutAsync("db", Second);
        var deleted = (await Secrets.DeleteSecretAsync(new DeleteSecretRequest { Name = "db" })).Secret;
        var describe = Refused(() => Secrets.DescribeSecretAsync(new DescribeSecretRequest { Name = "db" }).ResponseAsync);
        var again = Refused(() => Secrets.DeleteSecretAsync(new DeleteSecretRequest { Name = "db" }).ResponseAsync);
        var listed = await Secrets.ListSecretsAsync(new ListSecretsRequest());
        Host.Clock.Advance(TimeSpan.FromHours(1));
        var recreated = (await PutAsync("db", First)).Secret;
        Assert.Multiple(() =>
        {
            Assert.That(deleted.Versions, Is.EqualTo(new[] { 1, 2 }), "the answer is the secret as it was");
            Assert.That((describe.StatusCode, describe.Status.Detail), Is.EqualTo((StatusCode.NotFound, "name: secret \"db\" does not exist")));
            Assert.That(again.StatusCode, Is.EqualTo(StatusCode.NotFound));
            Assert.That(listed.Secrets, Is.Empty);
            Assert.That((recreated.LatestVersion, recreated.Versions), Is.EqualTo((3, new[] { 3 })), "version numbers are never given out twice");
            Assert.That(recreated.CreatedAt.ToDateTimeOffset(), Is.EqualTo(Host.Clock.GetUtcNow()), "a new secret");
        });
    }

    [Test]
    public async Task A_task_whose_secret_or_version_does_not_exist_is_not_placed_and_the_failure_names_both_and_a_malformed_reference_is_refused_at_registration()
    {
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        await PutAsync("api-token", First);
        await PutAsync("db", First);
        await RegisterAsync(WithSecrets("db", "db-password"));
        var missing = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web:1", Count = 2 });
        await RegisterAsync(WithSecrets("db:2"));
        var noVersion = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web:2" });
        var malformed = Assert.ThrowsAsync<RpcException>(() => RegisterAsync(WithSecrets("db:2:x")));
        var listed = await Host.Tasks.ListTasksAsync(new ListTasksRequest { IncludeAllStatuses = true });

        await PutAsync("db-password", Second);
        var placed = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web:1" });
        var start = (await agent.NextCommandAsync()).StartTask;
        Assert.Multiple(() =>
        {
            Assert.That(missing.Tasks, Is.Empty);
            Assert.That(missing.Failures.Select(f => (f.Subject, f.Reason, f.Detail)), Is.EqualTo(Enumerable.Repeat(
                ("web:1", "MISSING", "containerDefinitions[0].secrets[1].valueFrom: no secret named \"db-password\""), 2)));
            Assert.That(noVersion.Failures.Single().Detail, Is.EqualTo("containerDefinitions[0].secrets[0].valueFrom: secret \"db\" has no version 2 (its latest is 1)"));
            Assert.That((malformed!.StatusCode, malformed.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument,
                "containerDefinitions[0].secrets[0].valueFrom: \"db:2:x\" is not \"NAME\" or \"NAME:VERSION\": a name of 1 to 128 letters, digits, '-', '_' and '.', and a version of 1 or more")), "refused when the definition is registered");
            Assert.That(listed.TaskIds, Is.Empty, "nothing was placed");
            Assert.That(placed.Failures, Is.Empty);
            Assert.That(start.TaskId, Is.EqualTo(placed.Tasks.Single().TaskId));
            Assert.That(Values(start), Is.EqualTo(new Dictionary<string, string> { ["db"] = First, ["db-password"] = Second, ["api-token"] = First }));
        });
    }

    [Test]
    public async Task A_service_whose_secret_is_missing_says_so_in_its_events_and_places_once_it_is_put()
    {
        await PutAsync("api-token", First);
        await RegisterAsync(WithSecrets("db-password"));
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var services = new ServiceService.ServiceServiceClient(Host.Channel);
        await services.CreateServiceAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 2 });
        var waiting = (await services.DescribeServicesAsync(new DescribeServicesRequest { Services = { "web" } })).Services.Single();

        await PutAsync("db-password", Second);
        Host.Clock.Advance(TimeSpan.FromSeconds(1));
        var starts = new[] { (await agent.NextCommandAsync()).StartTask, (await agent.NextCommandAsync()).StartTask };
        Assert.Multiple(() =>
        {
            Assert.That(waiting.Events[0].Message, Is.EqualTo(
                "service web is unable to place 2 tasks (MISSING): containerDefinitions[0].secrets[0].valueFrom: no secret named \"db-password\""));
            Assert.That(waiting.PendingCount + waiting.RunningCount, Is.Zero);
            Assert.That(starts.Select(Values), Is.All.EqualTo(new Dictionary<string, string> { ["db-password"] = Second, ["api-token"] = First }));
        });
    }

    [Test]
    public async Task A_task_keeps_the_version_it_was_placed_with_when_its_start_is_sent_again_after_a_newer_put()
    {
        await PutAsync("api-token", First);
        await PutAsync("db", First);
        await RegisterAsync(WithSecrets("db", "db:1"));
        string pinned;
        Dictionary<string, string> firstStart;
        await using (var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1"))
        {
            pinned = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks.Single().TaskId;
            firstStart = Values((await agent.NextCommandAsync()).StartTask);
        }

        await PutAsync("db", Second);
        await using var back = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var resent = back.Registered.StartTasks.Single();
        var later = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks.Single().TaskId;
        var laterStart = (await back.NextCommandAsync()).StartTask;
        Assert.Multiple(() =>
        {
            Assert.That(firstStart, Is.EqualTo(new Dictionary<string, string> { ["db"] = First, ["db:1"] = First, ["api-token"] = First }));
            Assert.That(resent.TaskId, Is.EqualTo(pinned));
            Assert.That(Values(resent), Is.EqualTo(firstStart), "the version it was placed with, not the newer one");
            Assert.That(laterStart.TaskId, Is.EqualTo(later));
            Assert.That(Values(laterStart), Is.EqualTo(new Dictionary<string, string> { ["db"] = Second, ["db:1"] = First, ["api-token"] = First }));
        });
    }

    [Test]
    public async Task A_secret_deleted_after_placement_is_left_out_of_the_start_command_and_the_log_says_so()
    {
        await PutAsync("api-token", First);
        await PutAsync("db", First);
        await RegisterAsync(WithSecrets("db"));
        string taskId;
        await using (var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1"))
        {
            taskId = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks.Single().TaskId;
            await agent.NextCommandAsync();
        }

        await Secrets.DeleteSecretAsync(new DeleteSecretRequest { Name = "db" });
        await using var back = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var resent = back.Registered.StartTasks.Single();
        Assert.Multiple(() =>
        {
            Assert.That(resent.TaskId, Is.EqualTo(taskId));
            Assert.That(Values(resent), Is.EqualTo(new Dictionary<string, string> { ["api-token"] = First }), "the agent finds db referenced without a value and fails the task");
            Assert.That(resent.TaskDefinition.ContainerDefinitions[0].Secrets.Single().ValueFrom, Is.EqualTo("db"));
            Assert.That(Host.Logs.Lines, Has.Some.Contains($"Task {taskId}: secret db version 1 no longer exists; its start command goes without it"));
        });
    }

    [Test]
    public async Task A_secret_keeps_its_last_hundred_versions_and_those_that_tasks_not_stopped_were_placed_with()
    {
        await PutAsync("api-token", First);
        await PutAsync("db", First);
        await RegisterAsync(WithSecrets("db"));
        string running;
        await using (var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1"))
        {
            running = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks.Single().TaskId;
            await agent.NextCommandAsync();
            await agent.ReportAsync(running, TaskStatus.Running);

            await PutAsync("db", Second);
            var stopped = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks.Single().TaskId;
            await agent.NextCommandAsync();
            await agent.ReportAsync(stopped, TaskStatus.Stopped, exitCode: 0);
        }

        SecretMetadata? atHundred = null;
        for (var version = 3; version <= 105; version++)
        {
            var put = (await PutAsync("db", $"value-{version}")).Secret;
            if (version == 100)
            {
                atHundred = put;
            }
        }

        var described = (await Secrets.DescribeSecretAsync(new DescribeSecretRequest { Name = "db" })).Secret;
        var listed = (await Secrets.ListSecretsAsync(new ListSecretsRequest { NamePrefix = "db" })).Secrets.Single();
        await RegisterAsync(WithSecrets("db:2"));
        var pruned = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web:2" });

        // The deletions were committed with the Puts: after a restart the store has the same versions.
        RestartScheduler();
        var afterRestart = (await Secrets.DescribeSecretAsync(new DescribeSecretRequest { Name = "db" })).Secret;
        StartTaskCommand resent;
        await using (var back = await SimulatedAgent.ConnectAsync(Host.Agents, "n1"))
        {
            resent = back.Registered.StartTasks.Single();
        }

        int[] kept = [1, .. Enumerable.Range(7, 99)];
        Assert.Multiple(() =>
        {
            Assert.That(atHundred!.Versions, Is.EqualTo(Enumerable.Range(1, 100)), "nothing is deleted up to 100 versions");
            Assert.That((described.LatestVersion, described.Versions), Is.EqualTo((105, kept)),
                "100 kept: version 1, which the running task was placed with, and the newest 99; version 2's task is STOPPED");
            Assert.That(listed, Is.EqualTo(described));
            Assert.That(afterRestart.Versions, Is.EqualTo(kept));
            Assert.That(pruned.Failures.Single().Detail, Is.EqualTo("containerDefinitions[0].secrets[0].valueFrom: secret \"db\" has no version 2 (its latest is 105)"));
            Assert.That(resent.TaskId, Is.EqualTo(running));
            Assert.That(Values(resent), Is.EqualTo(new Dictionary<string, string> { ["db"] = First, ["api-token"] = First }), "the pinned version survived pruning and is still sent");
        });
    }

    /// <summary>
    /// Every call that can show a secret or a task that uses one, with every log line at Trace: the value
    /// is in the start command and nowhere else.
    /// </summary>
    [Test]
    public async Task The_value_is_in_no_answer_and_no_log_line_only_in_the_start_command()
    {
        UseHost(path => new SchedulerHost(path, logLevel: "Trace"));
        var answers = new List<IMessage>();
        async Task<T> Keep<T>(Task<T> call) where T : IMessage
        {
            var answer = await call;
            answers.Add(answer);
            return answer;
        }

        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        await Keep(PutAsync("api-token", First, "the API's"));
        await Keep(PutAsync("db", First));
        await Keep(Secrets.PutSecretAsync(new PutSecretRequest { Name = "db", BinaryValue = ByteString.CopyFromUtf8(Second) }).ResponseAsync);
        await Keep(Secrets.DescribeSecretAsync(new DescribeSecretRequest { Name = "db" }).ResponseAsync);
        await Keep(Secrets.ListSecretsAsync(new ListSecretsRequest()).ResponseAsync);
        await Keep(Host.TaskDefinitions.RegisterTaskDefinitionAsync(WithSecrets("db", "db:1")).ResponseAsync);
        await Keep(Host.TaskDefinitions.DescribeTaskDefinitionAsync(new DescribeTaskDefinitionRequest { TaskDefinition = "web" }).ResponseAsync);
        using var watch = Host.Tasks.WatchTasks(new WatchTasksRequest());
        var hub = Host.Services.GetRequiredService<TaskEventHub>();
        await EventuallyAsync(() => Task.FromResult(hub.WatcherCount > 0), "the watch is subscribed");
        var run = await Keep(Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" }).ResponseAsync);
        var taskId = run.Tasks.Single().TaskId;
        var start = (await agent.NextCommandAsync()).StartTask;
        await agent.ReportAsync(taskId, TaskStatus.Running);
        await Keep(Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { taskId } }).ResponseAsync);
        await Keep(Host.Tasks.ListTasksAsync(new ListTasksRequest()).ResponseAsync);
        using (var existing = Host.Tasks.WatchTasks(new WatchTasksRequest { IncludeExisting = true }))
        {
            Assert.That(await existing.ResponseStream.MoveNext(CancellationToken.None));
            answers.Add(existing.ResponseStream.Current);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        for (var i = 0; i < 2 && await watch.ResponseStream.MoveNext(timeout.Token); i++)
        {
            answers.Add(watch.ResponseStream.Current);
        }

        var refused = Refused(() => Secrets.PutSecretAsync(new PutSecretRequest { Name = "bad name", StringValue = First }).ResponseAsync);
        var tooBig = Refused(() => Secrets.PutSecretAsync(new PutSecretRequest { Name = "db", StringValue = First + new string('x', 70_000) }).ResponseAsync);
        await Keep(Secrets.DeleteSecretAsync(new DeleteSecretRequest { Name = "db" }).ResponseAsync);

        var leaks = answers.Where(a => Contains(a, First) || Contains(a, Second)).Select(a => $"{a.Descriptor.Name}: {a}").ToList();
        var lines = Host.Logs.Lines;
        Assert.Multiple(() =>
        {
            Assert.That(Values(start), Is.EqualTo(new Dictionary<string, string> { ["db"] = Second, ["db:1"] = First, ["api-token"] = First }), "the command carries them");
            Assert.That(answers, Has.Count.EqualTo(14));
            Assert.That(leaks, Is.Empty);
            Assert.That(refused.Status.Detail + tooBig.Status.Detail, Does.Not.Contain(First));
            Assert.That(lines, Has.Some.StartsWith("Debug "), "every level is captured");
            Assert.That(lines, Has.Some.Contains("Secret db: version 2 put"));
            Assert.That(lines.Where(l => l.Contains(First, StringComparison.Ordinal) || l.Contains(Second, StringComparison.Ordinal)), Is.Empty);
            Assert.That(lines.Where(l => l.Contains(Convert.ToBase64String(Encoding.UTF8.GetBytes(First)), StringComparison.Ordinal)), Is.Empty);
        });
    }

    /// <summary>Whether the message holds the text, as proto3 JSON (what grpcurl shows) or in its wire bytes.</summary>
    private static bool Contains(IMessage message, string text) =>
        JsonFormatter.Default.Format(message).Contains(text, StringComparison.Ordinal)
        || message.ToByteArray().AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;

    [Test]
    public async Task Values_are_sealed_at_rest_and_open_again_after_a_restart()
    {
        await PutAsync("api-token", First);
        await PutAsync("db", First);
        await PutAsync("db", Second);
        await RegisterAsync(WithSecrets("db:1", "db"));
        string taskId;
        await using (var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1"))
        {
            taskId = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks.Single().TaskId;
            await agent.NextCommandAsync();
        }

        RestartScheduler();
        var described = (await Secrets.DescribeSecretAsync(new DescribeSecretRequest { Name = "db" })).Secret;
        StartTaskCommand resent;
        await using (var back = await SimulatedAgent.ConnectAsync(Host.Agents, "n1"))
        {
            resent = back.Registered.StartTasks.Single();
        }

        // Closed, so that whatever LiteDB still held in memory is in its files too.
        Host.Dispose();

        var keyFile = Path.Combine(Host.DataDirectory, SecretCipher.KeyFile);
        var plaintexts = new[] { First, Second }.SelectMany(v => new[] { Encoding.UTF8.GetBytes(v), Encoding.UTF8.GetBytes(Convert.ToBase64String(Encoding.UTF8.GetBytes(v))) }).ToList();
        var files = Directory.GetFiles(Host.DataDirectory);
        var found = files.Where(f => plaintexts.Any(p => File.ReadAllBytes(f).AsSpan().IndexOf(p) >= 0)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(described.Versions, Is.EqualTo(new[] { 1, 2 }));
            Assert.That(resent.TaskId, Is.EqualTo(taskId));
            Assert.That(Values(resent), Is.EqualTo(new Dictionary<string, string> { ["db:1"] = First, ["db"] = Second, ["api-token"] = First }), "decrypted with the key of the data directory");
            Assert.That(files.Select(Path.GetFileName), Has.Some.EqualTo("scheduler.db"));
            Assert.That(File.ReadAllBytes(DataPath).AsSpan().IndexOf("secret_values"u8) >= 0, Is.True, "the values are in the database file");
            Assert.That(found, Is.Empty, "no file of the data directory holds a value");
            if (!OperatingSystem.IsWindows())
            {
                Assert.That(File.GetUnixFileMode(keyFile), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
            }
        });
    }

    [Test]
    public async Task Values_sealed_with_a_key_the_scheduler_no_longer_has_are_not_placed_and_the_start_says_so()
    {
        await PutAsync("api-token", First);
        await PutAsync("db", First);
        await RegisterAsync(WithSecrets("db"));
        Host.Dispose();
        File.Delete(Path.Combine(Host.DataDirectory, SecretCipher.KeyFile));

        RestartScheduler();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "n1");
        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
        await PutAsync("db", Second);
        var failure = run.Failures[0];
        var stillSealed = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" });
        Assert.Multiple(() =>
        {
            Assert.That((failure.Reason, failure.Detail), Is.EqualTo(("MISSING",
                "containerDefinitions[0].secrets[0].valueFrom: secret \"db\" version 1 was sealed with another key than this scheduler's secrets.key; put it again")));
            Assert.That(Host.Logs.Lines, Has.Some.Contains("2 stored secret versions were sealed with another key than this data directory's secrets.key and cannot be opened"));
            Assert.That(stillSealed.Failures.Single().Detail, Does.Contain("secret \"api-token\" version 1 was sealed with another key"), "db is put again, api-token is not");
        });
    }

    [Test]
    public async Task Secrets_take_the_operator_role_to_change_and_read_only_to_read_and_reflection_lists_the_service()
    {
        await PutAsync("db", First);
        var tokens = new TokenService.TokenServiceClient(Host.Channel);
        var reader = (await tokens.CreateTokenAsync(new CreateTokenRequest { Name = "r", Role = "read-only" })).Secret;
        var operatorToken = (await tokens.CreateTokenAsync(new CreateTokenRequest { Name = "o", Role = "operator" })).Secret;
        var asReader = new SecretService.SecretServiceClient(Host.ChannelWith(reader));
        var asOperator = new SecretService.SecretServiceClient(Host.ChannelWith(operatorToken));
        var anonymous = new SecretService.SecretServiceClient(Host.ChannelWith(null));

        var described = await asReader.DescribeSecretAsync(new DescribeSecretRequest { Name = "db" });
        var listed = await asReader.ListSecretsAsync(new ListSecretsRequest());
        var put = Refused(() => asReader.PutSecretAsync(new PutSecretRequest { Name = "db", StringValue = Second }).ResponseAsync);
        var delete = Refused(() => asReader.DeleteSecretAsync(new DeleteSecretRequest { Name = "db" }).ResponseAsync);
        var none = Refused(() => anonymous.DescribeSecretAsync(new DescribeSecretRequest { Name = "db" }).ResponseAsync);
        var byOperator = await asOperator.PutSecretAsync(new PutSecretRequest { Name = "db", StringValue = Second });

        using var reflection = new ServerReflection.ServerReflectionClient(Host.Channel).ServerReflectionInfo();
        await reflection.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await reflection.RequestStream.CompleteAsync();
        Assert.That(await reflection.ResponseStream.MoveNext(CancellationToken.None));
        var services = reflection.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name);
        Assert.Multiple(() =>
        {
            Assert.That((described.Secret.Name, listed.Secrets.Count), Is.EqualTo(("db", 1)));
            Assert.That(put.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(put.Status.Detail, Does.StartWith("orchestrator.v1.SecretService/PutSecret needs the operator role; token tok-").And.EndWith(" is read-only"));
            Assert.That(delete.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(none.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
            Assert.That(byOperator.Secret.LatestVersion, Is.EqualTo(2));
            Assert.That(services, Has.Member("orchestrator.v1.SecretService"));
        });
    }
}
