using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Validation;

namespace Orchestrator.Scheduler.Tests.Validation;

/// <summary>Containers' secrets: names as variables or files, and valueFrom references.</summary>
internal sealed class SecretReferenceValidatorTests
{
    private const string ValueFromRule = "is not \"NAME\" or \"NAME:VERSION\": a name of 1 to 128 letters, digits, '-', '_' and '.', and a version of 1 or more";
    private const string FileNameRule = "is not a file name: 1 to 255 characters without '/' or control characters, not \".\" or \"..\"";

    private static IEnumerable<TestCaseData> Refusals()
    {
        var c = FullDefinition.Refused;
        yield return c("variable without a name", r => r.ContainerDefinitions[0].Secrets[0].Name = "", "containerDefinitions[0].secrets[0].name: must be a non-empty name without '=' or control characters");
        yield return c("variable name with '='", r => r.ContainerDefinitions[0].Secrets[0].Name = "A=B", "containerDefinitions[0].secrets[0].name: must be a non-empty name without '=' or control characters");
        yield return c("variable name too long", r => r.ContainerDefinitions[0].Secrets[0].Name = new string('V', 257), "containerDefinitions[0].secrets[0].name: must be at most 256 characters, not 257");
        yield return c("variable also in environment", r => r.ContainerDefinitions[0].Secrets[0].Name = "DB_HOST", "containerDefinitions[0].secrets[0].name: the variable \"DB_HOST\" is also given by containerDefinitions[0].environment[0]");
        yield return c("variable given by two secrets", r => r.ContainerDefinitions[0].Secrets.Add(new Secret { Name = "DB_PASSWORD", ValueFrom = "other" }), "containerDefinitions[0].secrets[2].name: the variable \"DB_PASSWORD\" is also given by containerDefinitions[0].secrets[0]");
        yield return c("file without a name", r => r.ContainerDefinitions[0].Secrets[1].Name = "", "containerDefinitions[0].secrets[1].name: is required: the file's name in /run/secrets");
        yield return c("file name with a slash", r => r.ContainerDefinitions[0].Secrets[1].Name = "../etc/passwd", $"containerDefinitions[0].secrets[1].name: \"../etc/passwd\" {FileNameRule}");
        yield return c("file name '..'", r => r.ContainerDefinitions[0].Secrets[1].Name = "..", $"containerDefinitions[0].secrets[1].name: \"..\" {FileNameRule}");
        yield return c("file name '.'", r => r.ContainerDefinitions[0].Secrets[1].Name = ".", $"containerDefinitions[0].secrets[1].name: \".\" {FileNameRule}");
        yield return c("file name with a newline", r => r.ContainerDefinitions[0].Secrets[1].Name = "a\nb", $"containerDefinitions[0].secrets[1].name: \"a\\nb\" {FileNameRule}");
        yield return c("file name too long", r => r.ContainerDefinitions[0].Secrets[1].Name = new string('f', 256), $"containerDefinitions[0].secrets[1].name: \"{new string('f', 61)}...\" {FileNameRule}");
        yield return c("file given by two secrets", r => r.ContainerDefinitions[0].Secrets.Add(new Secret { Name = "api-key", ValueFrom = "other", AsFile = true }), "containerDefinitions[0].secrets[2].name: the file \"/run/secrets/api-key\" is also given by containerDefinitions[0].secrets[1]");
        yield return c("no valueFrom", r => r.ContainerDefinitions[0].Secrets[0].ValueFrom = "", "containerDefinitions[0].secrets[0].valueFrom: is required: a secret's name, \"NAME\" or \"NAME:VERSION\"");
        yield return c("valueFrom with a space", r => r.ContainerDefinitions[0].Secrets[0].ValueFrom = "db password", $"containerDefinitions[0].secrets[0].valueFrom: \"db password\" {ValueFromRule}");
        yield return c("valueFrom with version 0", r => r.ContainerDefinitions[0].Secrets[0].ValueFrom = "db-password:0", $"containerDefinitions[0].secrets[0].valueFrom: \"db-password:0\" {ValueFromRule}");
        yield return c("valueFrom with a leading zero", r => r.ContainerDefinitions[0].Secrets[0].ValueFrom = "db-password:03", $"containerDefinitions[0].secrets[0].valueFrom: \"db-password:03\" {ValueFromRule}");
        yield return c("valueFrom with a negative version", r => r.ContainerDefinitions[0].Secrets[0].ValueFrom = "db-password:-1", $"containerDefinitions[0].secrets[0].valueFrom: \"db-password:-1\" {ValueFromRule}");
        yield return c("valueFrom with a version past int", r => r.ContainerDefinitions[0].Secrets[0].ValueFrom = "db-password:3000000000", $"containerDefinitions[0].secrets[0].valueFrom: \"db-password:3000000000\" {ValueFromRule}");
        yield return c("valueFrom with an empty version", r => r.ContainerDefinitions[0].Secrets[0].ValueFrom = "db-password:", $"containerDefinitions[0].secrets[0].valueFrom: \"db-password:\" {ValueFromRule}");
        yield return c("valueFrom naming too long a secret", r => r.ContainerDefinitions[0].Secrets[0].ValueFrom = new string('s', 129), $"containerDefinitions[0].secrets[0].valueFrom: \"{new string('s', 61)}...\" {ValueFromRule}");
        yield return c("valueFrom as an ARN", r => r.ContainerDefinitions[0].Secrets[0].ValueFrom = "arn:aws:secretsmanager:eu-west-1:1:secret:db", $"containerDefinitions[0].secrets[0].valueFrom: \"arn:aws:secretsmanager:eu-west-1:1:secret:db\" {ValueFromRule}");
        yield return c("too many secrets", r => { for (var i = 0; i < 101; i++) r.ContainerDefinitions[1].Secrets.Add(new Secret { Name = $"S{i}", ValueFrom = "s" }); }, "containerDefinitions[1].secrets: at most 100 allowed, got 101");
    }

    private static IEnumerable<TestCaseData> Acceptances()
    {
        var a = FullDefinition.Accepted;
        yield return a("a variable and a file of the same name", r => r.ContainerDefinitions[0].Secrets.Add(new Secret { Name = "api-key", ValueFrom = "api.key" }));
        yield return a("the same secret under two names", r => r.ContainerDefinitions[0].Secrets.Add(new Secret { Name = "DB_PASSWORD_AGAIN", ValueFrom = "db-password" }));
        yield return a("the same variable name in two containers", r => r.ContainerDefinitions[1].Secrets.Add(new Secret { Name = "DB_PASSWORD", ValueFrom = "db-password:7" }));
        yield return a("a secret's longest name and a large version", r => r.ContainerDefinitions[1].Secrets.Add(new Secret { Name = "K", ValueFrom = new string('s', 128) + ":2147483647" }));
        yield return a("a file name with dots and spaces", r => r.ContainerDefinitions[3].Secrets.Add(new Secret { Name = "tls key.pem", ValueFrom = "tls", AsFile = true }));
        yield return a("a secret that does not exist yet (checked at placement)", r => r.ContainerDefinitions[1].Secrets.Add(new Secret { Name = "LATER", ValueFrom = "put-after-registration" }));
    }

    [TestCaseSource(nameof(Refusals))]
    public string Bad_secret_reference_is_refused_naming_the_field(RegisterTaskDefinitionRequest request) => FullDefinition.RefusalOf(request);

    [TestCaseSource(nameof(Acceptances))]
    public void Good_secret_reference_is_accepted(RegisterTaskDefinitionRequest request) =>
        Assert.That(() => TaskDefinitionValidator.Validate(request), Throws.Nothing);

    [Test]
    public void The_definition_keeps_the_references_as_given()
    {
        var (spec, _) = TaskDefinitionValidator.Validate(FullDefinition.Request());
        Assert.That(spec.ContainerDefinitions[0].Secrets.Select(s => (s.Name, s.ValueFrom, s.AsFile)),
            Is.EqualTo(new[] { ("DB_PASSWORD", "db-password", false), ("api-key", "api.key:2", true) }));
    }
}
