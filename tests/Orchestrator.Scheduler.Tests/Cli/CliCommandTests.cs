using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Tests.Integration;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Tests.Cli;

/// <summary>The CLI's commands against a real in-process scheduler: answers as JSON and tables, exit codes, one-line errors.</summary>
internal sealed class CliCommandTests : SchedulerTest
{
    private const string WebJson = """
        {"family": "web", "containerDefinitions": [{"name": "app", "image": "orchestrator-test/busybox", "cpu": 256, "memory": 512, "command": ["httpd", "-f", "-p", "80"]}]}
        """;

    private string _files = "";

    [SetUp]
    public void MakeFiles() => _files = Directory.CreateTempSubdirectory("orchestrator-cli-").FullName;

    [TearDown]
    public void RemoveFiles() => Directory.Delete(_files, recursive: true);

    private Task<CliResult> Cli(params string[] args) => CliRunner.RunAsync(Host, args);

    [Test]
    public async Task Json_output_is_the_api_answer_with_its_field_names()
    {
        var result = await Cli("cluster", "describe", "default", "-o", "json");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var cluster = result.Json().GetProperty("clusters")[0];
        Assert.Multiple(() =>
        {
            Assert.That(cluster.GetProperty("name").GetString(), Is.EqualTo("default"));
            Assert.That(cluster.GetProperty("status").GetString(), Is.EqualTo("ACTIVE"));
            Assert.That(cluster.GetProperty("runningTasks").GetInt32(), Is.EqualTo(0), "default values are written out");
        });
    }

    [Test]
    public async Task Output_is_json_when_stdout_is_not_a_terminal_and_a_table_when_asked()
    {
        var piped = await Cli("cluster", "ls");
        var table = await Cli("cluster", "ls", "-o", "table");

        Assert.Multiple(() =>
        {
            Assert.That(piped.Json().GetProperty("names")[0].GetString(), Is.EqualTo("default"));
            Assert.That(table.Table().Single()["name"], Is.EqualTo("default"));
            Assert.That(table.Table().Single()["status"], Is.EqualTo("ACTIVE"));
        });
    }

    [Test]
    public async Task A_task_definition_is_registered_from_a_file_and_tasks_run_and_list()
    {
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "node-1");
        agent.RunAutomatically();
        var file = CliRunner.WriteTemp(_files, "web.json", WebJson);

        var registered = await Cli("taskdef", "register", "-f", file);
        var run = await Cli("task", "run", "web", "--count", "2", "--started-by", "ci");
        await agent.SettleAsync();
        var listed = await Cli("task", "ls", "--started-by", "ci", "-o", "table");
        var definitions = await Cli("taskdef", "ls", "-o", "table");

        Assert.Multiple(() =>
        {
            Assert.That(registered.Json().GetProperty("taskDefinition").GetProperty("taskDefinitionArn").GetString(), Is.EqualTo("web:1"));
            Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
            Assert.That(run.Json().GetProperty("tasks").GetArrayLength(), Is.EqualTo(2));
            var rows = listed.Table();
            Assert.That(rows, Has.Count.EqualTo(2));
            Assert.That(rows.Select(r => r["lastStatus"]), Is.All.EqualTo("TASK_STATUS_RUNNING"));
            Assert.That(rows.Select(r => r["node"]), Is.All.EqualTo("node-1"));
            Assert.That(rows.Select(r => r["taskDefinitionArn"]), Is.All.EqualTo("web:1"));
            Assert.That(definitions.Table().Select(r => r["taskDefinitionArns"]), Is.EqualTo(new[] { "web:1" }));
        });
    }

    [Test]
    public async Task Flags_override_the_fields_of_cli_input_json()
    {
        await RegisterAsync();
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "node-1");
        var file = CliRunner.WriteTemp(_files, "run.json", """{"taskDefinition": "web", "count": 1, "startedBy": "file"}""");

        var result = await Cli("task", "run", "--cli-input-json", file, "--count", "3");

        var tasks = result.Json().GetProperty("tasks");
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
            Assert.That(tasks.GetArrayLength(), Is.EqualTo(3), "--count wins over the file's count");
            Assert.That(tasks[0].GetProperty("startedBy").GetString(), Is.EqualTo("file"), "what no flag gives comes from the file");
        });
    }

    [Test]
    public async Task Tasks_that_cannot_be_placed_are_error_lines_and_exit_1()
    {
        await RegisterAsync();

        var result = await Cli("task", "run", "web", "-o", "table");

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1));
            Assert.That(result.ErrorLines, Is.Not.Empty);
            Assert.That(result.ErrorLines, Is.All.StartWith("orchestrator: NO_ACTIVE_NODES: "));
        });
    }

    private static readonly object[] BadInputs =
    [
        new object[] { new[] { "task", "stop", "0123456789abcdef0123456789abcdef" }, "orchestrator: NotFound: " },
        new object[] { new[] { "taskdef", "describe", "nope:1" }, "orchestrator: NotFound: " },
        new object[] { new[] { "task", "describe", "0123456789abcdef0123456789abcdef" }, "orchestrator: MISSING: 0123456789abcdef0123456789abcdef" },
        new object[] { new[] { "task", "run", "web", "--count", "5000" }, "orchestrator: InvalidArgument: " },
        new object[] { new[] { "cluster", "ls", "--token", "not-a-token" }, "orchestrator: Unauthenticated: " },
        new object[] { new[] { "events", "--type", "nope" }, "orchestrator: --type: \"nope\" is not an event type" },
        new object[] { new[] { "cluster", "ls", "--addr", "ftp://x" }, "orchestrator: --addr: \"ftp://x\" is not an address" },
    ];

    [TestCaseSource(nameof(BadInputs))]
    public async Task Bad_input_is_one_error_line_and_exit_1(string[] args, string line)
    {
        await RegisterAsync();

        var result = await Cli(args);

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            Assert.That(result.ErrorLines, Has.Length.EqualTo(1), result.ToString());
            Assert.That(result.ErrorLines[0], Does.StartWith(line));
            Assert.That(result.Error, Does.Not.Contain("   at "), "no stack trace");
        });
    }

    private static readonly object[] BadFiles =
    [
        new object[] { "this is not json", "not JSON" },
        new object[] { """{"taskDefinition": "web", "cuont": 2}""", "cuont" },
        new object[] { """{"taskDefinition": 7}""", "RunTaskRequest" },
    ];

    [TestCaseSource(nameof(BadFiles))]
    public async Task A_cli_input_json_file_that_is_not_the_request_is_refused_naming_the_problem(string content, string named)
    {
        var file = CliRunner.WriteTemp(_files, "bad.json", content);

        var result = await Cli("task", "run", "--cli-input-json", file);

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1));
            Assert.That(result.ErrorLines, Has.Length.EqualTo(1), result.ToString());
            Assert.That(result.ErrorLines[0], Does.StartWith($"orchestrator: --cli-input-json {file}: "));
            Assert.That(result.ErrorLines[0], Does.Contain(named));
        });
    }

    [Test]
    public async Task A_request_comes_from_standard_input_with_a_dash()
    {
        var result = await CliRunner.RunAsync(() => Host.Server.CreateHandler(), Host.AdminToken, ["taskdef", "register", "-f", "-"], System.Text.Encoding.UTF8.GetBytes(WebJson));

        Assert.That(result.Json().GetProperty("taskDefinition").GetProperty("family").GetString(), Is.EqualTo("web"), result.ToString());
    }

    [Test]
    public async Task Nodes_drain_and_activate_and_show_in_tables()
    {
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "node-1");

        var drained = await Cli("node", "drain", "node-1");
        var listed = await Cli("node", "ls", "-o", "table");
        var activated = await Cli("node", "activate", "node-1");

        Assert.Multiple(() =>
        {
            Assert.That(drained.Json().GetProperty("node").GetProperty("status").GetString(), Is.EqualTo("NODE_STATUS_DRAINING"));
            Assert.That(listed.Table().Single()["status"], Is.EqualTo("NODE_STATUS_DRAINING"));
            Assert.That(listed.Table().Single()["agentConnected"], Is.EqualTo("true"));
            Assert.That(activated.Json().GetProperty("node").GetProperty("status").GetString(), Is.EqualTo("NODE_STATUS_ACTIVE"));
        });
    }

    [Test]
    public async Task A_secret_value_comes_from_stdin_and_is_never_printed()
    {
        var put = await CliRunner.RunAsync(() => Host.Server.CreateHandler(), Host.AdminToken, ["secret", "put", "db-password", "--description", "the db"], "hunter2-s3cret"u8.ToArray());
        var described = await Cli("secret", "describe", "db-password", "-o", "table");

        Assert.Multiple(() =>
        {
            Assert.That(put.ExitCode, Is.EqualTo(0), put.ToString());
            Assert.That(put.Json().GetProperty("secret").GetProperty("latestVersion").GetInt32(), Is.EqualTo(1));
            Assert.That(put.Out + put.Error + described.Out, Does.Not.Contain("hunter2"));
            Assert.That(described.Table().Single(r => r["field"] == "description")["value"], Is.EqualTo("the db"));
        });
    }

    [Test]
    public async Task A_token_is_created_once_with_its_secret_and_then_listed_without_it()
    {
        var created = await Cli("token", "create", "ci", "--role", "operator");
        var secret = created.Json().GetProperty("secret").GetString()!;
        var listed = await Cli("token", "ls", "-o", "table");
        var withIt = await CliRunner.RunAsync(() => Host.Server.CreateHandler(), secret, ["cluster", "ls"]);

        Assert.Multiple(() =>
        {
            Assert.That(secret, Is.Not.Empty);
            Assert.That(listed.Out, Does.Not.Contain(secret));
            Assert.That(listed.Table().Single(r => r["name"] == "ci")["role"], Is.EqualTo("operator"));
            Assert.That(withIt.ExitCode, Is.EqualTo(0), "the new token works: " + withIt);
        });
    }

    [Test]
    public async Task Events_list_what_happened()
    {
        await using var agent = await SimulatedAgent.ConnectAsync(Host.Agents, "node-1");

        var result = await Cli("events", "--type", "node-joined", "-o", "table");

        var row = result.Table().Single();
        Assert.Multiple(() =>
        {
            Assert.That(row["type"], Is.EqualTo("EVENT_TYPE_NODE_JOINED"));
            Assert.That(row["node"], Is.EqualTo("node-1"));
        });
    }

    [Test]
    public async Task Tags_are_added_listed_and_removed()
    {
        var added = await Cli("tag", "add", "cluster/default", "team=web", "env=prod");
        var removed = await Cli("tag", "rm", "cluster/default", "env", "-o", "table");

        Assert.Multiple(() =>
        {
            Assert.That(added.ExitCode, Is.EqualTo(0), added.ToString());
            Assert.That(added.Json().GetProperty("tags").GetArrayLength(), Is.EqualTo(2));
            Assert.That(removed.Table().Select(r => (r["key"], r["value"])), Is.EqualTo(new[] { ("team", "web") }));
        });
    }

    [Test]
    public async Task Start_places_one_task_on_each_named_node_and_families_list()
    {
        await RegisterAsync();
        await using var one = await SimulatedAgent.ConnectAsync(Host.Agents, "node-1");
        await using var two = await SimulatedAgent.ConnectAsync(Host.Agents, "node-2");

        var started = await Cli("task", "start", "web", "--node", "node-2", "-o", "table");
        var families = await Cli("taskdef", "families", "-o", "table");

        Assert.Multiple(() =>
        {
            Assert.That(started.ExitCode, Is.EqualTo(0), started.ToString());
            Assert.That(started.Table().Single()["node"], Is.EqualTo("node-2"));
            Assert.That(families.Table().Select(r => r["families"]), Is.EqualTo(new[] { "web" }));
        });
    }
}
