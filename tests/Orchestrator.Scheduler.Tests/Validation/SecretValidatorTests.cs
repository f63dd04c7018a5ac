using Google.Protobuf;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Tests.Validation;

internal sealed class SecretValidatorTests
{
    private const string Value = "hunter2-the-value";

    private static PutSecretRequest Valid() => new() { Name = "db.password_1-A", StringValue = Value, Description = "the database's" };

    private static IEnumerable<TestCaseData> BadPuts()
    {
        TestCaseData Case(string name, Action<PutSecretRequest> spoil, string message)
        {
            var request = Valid();
            spoil(request);
            return new TestCaseData(request).Returns(message).SetName(name);
        }

        yield return Case("no name", r => r.Name = "", "name: secret name is required");
        yield return Case("a name with a slash", r => r.Name = "db/password", "name: \"db/password\" is not a valid secret name: use 1 to 128 letters, digits, '-', '_' and '.'");
        yield return Case("a name with a colon", r => r.Name = "db:2", "name: \"db:2\" is not a valid secret name: use 1 to 128 letters, digits, '-', '_' and '.'");
        yield return Case("a name with a space", r => r.Name = "db password", "name: \"db password\" is not a valid secret name: use 1 to 128 letters, digits, '-', '_' and '.'");
        yield return Case("a name of 129", r => r.Name = new string('a', 129), $"name: \"{new string('a', 61)}...\" is not a valid secret name: use 1 to 128 letters, digits, '-', '_' and '.'");
        yield return Case("no value", r => r.ClearValue(), "stringValue: a value is required: stringValue or binaryValue");
        yield return Case("an empty string value", r => r.StringValue = "", "stringValue: must not be empty");
        yield return Case("an empty binary value", r => r.BinaryValue = ByteString.Empty, "binaryValue: must not be empty");
        yield return Case("a string value over 64 KiB", r => r.StringValue = new string('x', 64 * 1024 + 1), "stringValue: must be at most 65536 bytes, not 65537");
        yield return Case("a string value over 64 KiB in UTF-8 bytes", r => r.StringValue = new string('é', 32 * 1024 + 1), "stringValue: must be at most 65536 bytes, not 65538");
        yield return Case("a binary value over 64 KiB", r => r.BinaryValue = ByteString.CopyFrom(new byte[64 * 1024 + 1]), "binaryValue: must be at most 65536 bytes, not 65537");
        yield return Case("a description over 1024", r => r.Description = new string('d', 1025), "description: must be at most 1024 characters, not 1025");
    }

    [TestCaseSource(nameof(BadPuts))]
    public string A_bad_put_is_refused_naming_its_field_and_never_the_value(PutSecretRequest request)
    {
        var refused = Assert.Throws<RequestException>(() => SecretValidator.Put(request))!;
        Assert.That(refused.Kind, Is.EqualTo(RequestErrorKind.InvalidArgument));
        Assert.That(refused.Message, Does.Not.Contain(Value).And.Not.Contain("xxxxxxxx"));
        return refused.Message;
    }

    [Test]
    public void A_good_put_gives_the_value_as_bytes()
    {
        var (name, value, description) = SecretValidator.Put(Valid());
        var binary = SecretValidator.Put(new PutSecretRequest { Name = new string('n', 128), BinaryValue = ByteString.CopyFrom(new byte[64 * 1024]) });
        Assert.Multiple(() =>
        {
            Assert.That((name, System.Text.Encoding.UTF8.GetString(value), description), Is.EqualTo(("db.password_1-A", Value, "the database's")));
            Assert.That(binary.Value, Has.Length.EqualTo(64 * 1024), "64 KiB is allowed");
        });
    }

    [TestCase("db", "db", null)]
    [TestCase("db:3", "db", 3)]
    [TestCase("a.b-c_D9:12", "a.b-c_D9", 12)]
    public void A_secret_reference_is_a_name_and_maybe_a_version(string valueFrom, string name, int? version)
    {
        Assert.That(SecretReference.TryParse(valueFrom, out var reference), Is.True);
        Assert.That((reference.Name, reference.Version, reference.ToString(), SecretReference.NameOf(valueFrom)), Is.EqualTo((name, version, valueFrom, name)));
    }

    [TestCase("")]
    [TestCase(":3")]
    [TestCase("db:")]
    [TestCase("db:0")]
    [TestCase("db:-1")]
    [TestCase("db:+1")]
    [TestCase("db:x")]
    [TestCase("db:1:2")]
    [TestCase("db password")]
    [TestCase("arn:aws:secretsmanager:eu-west-1:1:secret:db")]
    public void A_malformed_secret_reference_is_not_one(string valueFrom) =>
        Assert.That(SecretReference.TryParse(valueFrom, out _), Is.False);
}
