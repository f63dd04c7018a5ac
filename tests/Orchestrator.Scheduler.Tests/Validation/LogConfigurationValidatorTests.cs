using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Validation;

namespace Orchestrator.Scheduler.Tests.Validation;

/// <summary>Containers' logConfiguration: the driver, its options, and what Docker refuses of them together.</summary>
internal sealed class LogConfigurationValidatorTests
{
    private const string SizeRule = "is not a size: a positive number and an optional unit k, m or g (e.g. 10m, 1g, 500k)";

    private static TestCaseData Refused(string name, LogConfiguration configuration, string message) =>
        FullDefinition.Refused(name, r => r.ContainerDefinitions[1].LogConfiguration = configuration, "containerDefinitions[1].logConfiguration" + message);

    private static TestCaseData Accepted(string name, LogConfiguration configuration) =>
        FullDefinition.Accepted(name, r => r.ContainerDefinitions[1].LogConfiguration = configuration);

    private static TestCaseData RefusedOfApp(string name, LogConfiguration configuration, string message) =>
        RefusedOfApp(name, r => r.ContainerDefinitions[0].LogConfiguration = configuration, message);

    private static TestCaseData RefusedOfApp(string name, Action<RegisterTaskDefinitionRequest> spoil, string message) =>
        FullDefinition.Refused(name, spoil, "containerDefinitions[0].logConfiguration" + message);

    private static LogConfiguration Log(string driver, params (string Key, string Value)[] options)
    {
        var configuration = new LogConfiguration { LogDriver = driver };
        foreach (var (key, value) in options)
        {
            configuration.Options[key] = value;
        }

        return configuration;
    }

    private static IEnumerable<TestCaseData> Refusals()
    {
        yield return Refused("unknown driver", Log("fluentd"), ".logDriver: must be \"json-file\", \"local\", \"journald\", \"syslog\" or \"none\", not \"fluentd\"");
        yield return Refused("driver in capitals", Log("JSON-FILE"), ".logDriver: must be \"json-file\", \"local\", \"journald\", \"syslog\" or \"none\", not \"JSON-FILE\"");
        yield return Refused("options without a driver", Log("", ("max-size", "10m")), ".options: need a logDriver: without one the node's default driver applies, with the node's size cap");
        yield return Refused("options of none", Log("none", ("max-size", "10m")), ".options: the \"none\" log driver keeps no logs and takes no options");
        yield return Refused("json-file option spelled with an underscore", Log("json-file", ("max_size", "10m")), ".options[max_size]: is not an option of the json-file log driver: use max-size, max-file, compress, labels, labels-regex, env, env-regex, tag, mode, max-buffer-size");
        yield return Refused("syslog option on local", Log("local", ("syslog-address", "udp://127.0.0.1:514")), ".options[syslog-address]: is not an option of the local log driver: use max-size, max-file, compress, mode, max-buffer-size");
        yield return Refused("max-size on journald", Log("journald", ("max-size", "10m")), ".options[max-size]: is not an option of the journald log driver: use tag, labels, labels-regex, env, env-regex, mode, max-buffer-size");
        yield return Refused("max-size in words", Log("json-file", ("max-size", "ten")), $".options[max-size]: \"ten\" {SizeRule}");
        yield return Refused("max-size of zero", Log("json-file", ("max-size", "0")), $".options[max-size]: \"0\" {SizeRule}");
        yield return Refused("max-size of zero megabytes", Log("local", ("max-size", "0m")), $".options[max-size]: \"0m\" {SizeRule}");
        yield return Refused("negative max-size", Log("json-file", ("max-size", "-1")), $".options[max-size]: \"-1\" {SizeRule}");
        yield return Refused("max-size in an unknown unit", Log("json-file", ("max-size", "10x")), $".options[max-size]: \"10x\" {SizeRule}");
        yield return Refused("max-size past a long", Log("json-file", ("max-size", "99999999999p")), $".options[max-size]: \"99999999999p\" {SizeRule}");
        yield return Refused("max-file of zero", Log("json-file", ("max-file", "0")), ".options[max-file]: \"0\" is not a positive whole number of files");
        yield return Refused("max-file in words", Log("local", ("max-file", "three")), ".options[max-file]: \"three\" is not a positive whole number of files");
        yield return Refused("max-file past int", Log("local", ("max-file", "3000000000")), ".options[max-file]: \"3000000000\" is not a positive whole number of files");
        yield return Refused("compress as yes", Log("local", ("compress", "yes")), ".options[compress]: must be \"true\" or \"false\", not \"yes\"");
        yield return Refused("unknown mode", Log("json-file", ("mode", "fast")), ".options[mode]: must be \"blocking\" or \"non-blocking\", not \"fast\"");
        yield return Refused("buffer size while blocking", Log("json-file", ("max-buffer-size", "4m")), ".options[max-buffer-size]: applies only with mode \"non-blocking\"");
        yield return Refused("json-file compressing without rotation", Log("json-file", ("compress", "true"), ("max-size", "10m")), ".options[compress]: json-file compresses rotated files only: it needs max-size and a max-file of 2 or more");
        yield return Refused("json-file compressing without a size", Log("json-file", ("compress", "1"), ("max-file", "3")), ".options[compress]: json-file compresses rotated files only: it needs max-size and a max-file of 2 or more");
        yield return Refused("local with one file compressing by default", Log("local", ("max-file", "1")), ".options[max-file]: the local driver compresses rotated files by default and 1 file leaves none: set compress to \"false\" or max-file to 2 or more");
        yield return Refused("option value with a newline", Log("syslog", ("tag", "a\nb")), ".options[tag]: \"a\\nb\" has a control character");
        yield return Refused("option value too long", Log("syslog", ("tag", new string('t', 4097))), ".options[tag]: must be at most 4096 characters, not 4097");
        yield return Refused("unknown key with a newline", Log("syslog", ("a\nb", "x")), ".options[a\\nb]: is not an option of the syslog log driver: use syslog-address, syslog-facility, syslog-format, syslog-tls-ca-cert, syslog-tls-cert, syslog-tls-key, syslog-tls-skip-verify, tag, labels, labels-regex, env, env-regex, mode, max-buffer-size");
        var many = Log("syslog");
        for (var i = 0; i < 33; i++)
        {
            many.Options[$"k{i}"] = "v";
        }

        yield return Refused("too many options", many, ".options: at most 32 allowed, got 33");

        // containerDefinitions[0] (app) has DB_PASSWORD as a variable (secrets[0]) and api-key as a file (secrets[1]).
        const string Markup = "{{.ID}}, {{.FullID}}, {{.Name}}, {{.ImageID}}, {{.ImageFullID}}, {{.ImageName}}, {{.DaemonName}}";
        yield return RefusedOfApp("env naming a secret variable", Log("json-file", ("env", "DB_HOST,DB_PASSWORD")), ".options[env]: names the variable of containerDefinitions[0].secrets[0], a secret: every log record would carry its value");
        yield return RefusedOfApp("env naming a secret variable with a space", Log("journald", ("env", "DB_HOST, DB_PASSWORD")), ".options[env]: names the variable of containerDefinitions[0].secrets[0], a secret: every log record would carry its value");
        yield return RefusedOfApp("env naming a secret variable added later in the list", r => { r.ContainerDefinitions[0].Secrets.Add(new Secret { Name = "TOKEN", ValueFrom = "token" }); r.ContainerDefinitions[0].LogConfiguration = Log("syslog", ("env", "TOKEN")); }, ".options[env]: names the variable of containerDefinitions[0].secrets[2], a secret: every log record would carry its value");
        yield return RefusedOfApp("env-regex with a secret variable", Log("syslog", ("env-regex", "^DB_HOST$")), ".options[env-regex]: cannot be used by a container with secrets as environment variables (containerDefinitions[0].secrets[0]): it could match them into every log record; name the variables to log in env");
        yield return Refused("tag printing the whole environment", Log("json-file", ("tag", "{{.ContainerEnv}}")), $".options[tag]: takes literal text and only this markup: {Markup}");
        yield return Refused("tag with other markup after documented markup", Log("journald", ("tag", "{{.Name}}/{{index .ContainerEnv 0}}")), $".options[tag]: takes literal text and only this markup: {Markup}");
        yield return Refused("tag with documented markup in another spelling", Log("syslog", ("tag", "{{ .Name }}")), $".options[tag]: takes literal text and only this markup: {Markup}");
        yield return Refused("tag with a trim marker", Log("syslog", ("tag", "{{- .Name}}")), $".options[tag]: takes literal text and only this markup: {Markup}");
        yield return Refused("tag with a pipeline", Log("json-file", ("tag", "{{.Name | printf \"%s\"}}")), $".options[tag]: takes literal text and only this markup: {Markup}");
        yield return Refused("tag with markup left open", Log("json-file", ("tag", "shop-{{")), $".options[tag]: takes literal text and only this markup: {Markup}");
        yield return Refused("tag with an action opened before documented markup", Log("json-file", ("tag", "{{{.ID}}")), $".options[tag]: takes literal text and only this markup: {Markup}");
        yield return Refused("tag with markup made of two documented halves", Log("json-file", ("tag", "{{{{.ID}}.ContainerEnv}}")), $".options[tag]: takes literal text and only this markup: {Markup}");
    }

    private static IEnumerable<TestCaseData> Acceptances()
    {
        yield return Accepted("no logConfiguration (the node's default)", Log(""));
        yield return Accepted("none", Log("none"));
        yield return Accepted("json-file with Docker's sizes", Log("json-file", ("max-size", "1.5MB"), ("max-file", "10"), ("compress", "True"), ("labels", "team"), ("tag", "{{.Name}}")));
        yield return Accepted("json-file with a size in bytes", Log("json-file", ("max-size", "500000")));
        yield return Accepted("json-file with a binary unit", Log("json-file", ("max-size", "2 GiB")));
        yield return Accepted("local with one file and no compression", Log("local", ("max-file", "1"), ("compress", "false"), ("max-size", "500k")));
        yield return Accepted("local with Docker's defaults", Log("local"));
        yield return Accepted("journald with a tag", Log("journald", ("tag", "shop-db"), ("env-regex", "^DB_")));
        yield return Accepted("syslog to a local socket", Log("syslog", ("syslog-address", "unixgram:///dev/log"), ("syslog-facility", "daemon"), ("syslog-format", "rfc5424")));
        yield return Accepted("non-blocking with a buffer", Log("journald", ("mode", "non-blocking"), ("max-buffer-size", "1m")));
        yield return FullDefinition.Accepted("env naming plain variables only", r => r.ContainerDefinitions[0].LogConfiguration = Log("json-file", ("env", "DB_HOST,HOSTNAME")));
        yield return FullDefinition.Accepted("env naming a secret file's name (a file is not in the environment)", r => r.ContainerDefinitions[0].LogConfiguration = Log("journald", ("env", "api-key")));
        yield return FullDefinition.Accepted("env-regex when the secrets are files only", r => { r.ContainerDefinitions[0].Secrets.RemoveAt(0); r.ContainerDefinitions[0].LogConfiguration = Log("syslog", ("env-regex", "^DB_")); });
        yield return Accepted("tag with every documented markup and text", Log("json-file", ("tag", "shop/{{.Name}}/{{.ID}}/{{.FullID}}/{{.ImageID}}/{{.ImageFullID}}/{{.ImageName}}/{{.DaemonName}}")));
        yield return Accepted("tag with closing braces as text", Log("syslog", ("tag", "shop}}db")));
    }

    [TestCaseSource(nameof(Refusals))]
    public string Bad_log_configuration_is_refused_naming_the_field(RegisterTaskDefinitionRequest request) => FullDefinition.RefusalOf(request);

    [TestCaseSource(nameof(Acceptances))]
    public void Good_log_configuration_is_accepted(RegisterTaskDefinitionRequest request) =>
        Assert.That(() => TaskDefinitionValidator.Validate(request), Throws.Nothing);
}
