using System.Text;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>
/// Checks SecretService requests. No message ever quotes a value, not even a bad one: only its length.
/// </summary>
internal static class SecretValidator
{
    /// <summary>The largest value, as AWS Secrets Manager's SecretString and SecretBinary.</summary>
    public const int MaxValueBytes = 64 * 1024;

    public const int MaxDescriptionLength = 1024;

    public static string Name(string name, string field = "name")
    {
        if (name.Length == 0)
        {
            throw RequestException.Invalid(field, "secret name is required");
        }

        return SecretReference.IsValidName(name)
            ? name
            : throw RequestException.Invalid(field, $"\"{Echo.Clip(name)}\" is not a valid secret name: use 1 to {SecretReference.MaxNameLength} letters, digits, '-', '_' and '.'");
    }

    /// <summary>The name, the value as bytes (the caller clears them once sealed) and the description.</summary>
    public static (string Name, byte[] Value, string Description) Put(Contract.PutSecretRequest request)
    {
        var name = Name(request.Name);
        Names.Text(request.Description, "description", MaxDescriptionLength);
        var value = request.ValueCase switch
        {
            Contract.PutSecretRequest.ValueOneofCase.StringValue => Value(request.StringValue, "stringValue"),
            Contract.PutSecretRequest.ValueOneofCase.BinaryValue => Value(request.BinaryValue.Span, "binaryValue"),
            _ => throw RequestException.Invalid("stringValue", "a value is required: stringValue or binaryValue"),
        };
        return (name, value, request.Description);
    }

    public static string NamePrefix(string prefix) => Names.Text(prefix, "namePrefix", SecretReference.MaxNameLength);

    private static byte[] Value(string value, string field)
    {
        // Counted before it is copied, so that an oversized value is refused without a copy of it.
        var length = Encoding.UTF8.GetByteCount(value);
        Check(length, field);
        return Encoding.UTF8.GetBytes(value);
    }

    private static byte[] Value(ReadOnlySpan<byte> value, string field)
    {
        Check(value.Length, field);
        return value.ToArray();
    }

    private static void Check(int length, string field)
    {
        if (length == 0)
        {
            throw RequestException.Invalid(field, "must not be empty");
        }

        if (length > MaxValueBytes)
        {
            throw RequestException.Invalid(field, $"must be at most {MaxValueBytes} bytes, not {length}");
        }
    }
}
