using System.Text.RegularExpressions;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>
/// A container's secrets, as references: the name it sees them by (a variable, or a file in
/// <see cref="FileDirectory"/>) and which secret (valueFrom). Whether that secret exists is checked when
/// a task is placed, since it may be put after the task definition is registered.
/// </summary>
internal static partial class SecretReferenceValidator
{
    /// <summary>Where secrets with asFile are, as Swarm puts them.</summary>
    public const string FileDirectory = "/run/secrets";

    /// <summary>SecretService's bound on a secret's name.</summary>
    public const int MaxSecretNameLength = 128;

    /// <summary>NAME_MAX: the longest file name.</summary>
    public const int MaxFileNameLength = 255;

    // "db-password" (its latest version) or "db-password:3"; the name as SecretService takes it.
    [GeneratedRegex("^[A-Za-z0-9_.-]{1,128}(:[1-9][0-9]{0,9})?$")]
    private static partial Regex ValueFromPattern();

    public static void Check(Contract.ContainerDefinition container, string at)
    {
        var secrets = container.Secrets;
        Limits.Count(secrets, Limits.MaxSecrets, $"{at}.secrets");

        // A secret's variable may not hide (or be hidden by) a plain one: which would win is Docker's
        // order of the list, and a reader of the definition could not tell.
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < container.Environment.Count; i++)
        {
            variables.TryAdd(container.Environment[i].Name, $"{at}.environment[{i}]");
        }

        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < secrets.Count; i++)
        {
            var secret = secrets[i];
            var field = $"{at}.secrets[{i}]";
            if (secret.AsFile)
            {
                CheckFileName(secret.Name, $"{field}.name");
            }
            else
            {
                TaskDefinitionValidator.CheckEnvironmentName(secret.Name, $"{field}.name");
            }

            var taken = secret.AsFile ? files : variables;
            if (taken.TryGetValue(secret.Name, out var other))
            {
                var what = secret.AsFile ? $"the file \"{FileDirectory}/{Echo.Clip(secret.Name)}\"" : $"the variable \"{Echo.Clip(secret.Name)}\"";
                throw RequestException.Invalid($"{field}.name", $"{what} is also given by {other}");
            }

            taken[secret.Name] = field;
            CheckValueFrom(secret.ValueFrom, $"{field}.valueFrom");
        }
    }

    private static void CheckFileName(string name, string field)
    {
        if (name.Length == 0)
        {
            throw RequestException.Invalid(field, $"is required: the file's name in {FileDirectory}");
        }

        if (name.Length > MaxFileNameLength || name is "." or ".." || name.Contains('/', StringComparison.Ordinal) || name.Any(char.IsControl))
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(name)}\" is not a file name: 1 to {MaxFileNameLength} characters without '/' or control characters, not \".\" or \"..\"");
        }
    }

    private static void CheckValueFrom(string valueFrom, string field)
    {
        if (valueFrom.Length == 0)
        {
            throw RequestException.Invalid(field, "is required: a secret's name, \"NAME\" or \"NAME:VERSION\"");
        }

        if (!ValueFromPattern().IsMatch(valueFrom) || !VersionFits(valueFrom))
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(valueFrom)}\" is not \"NAME\" or \"NAME:VERSION\": a name of 1 to {MaxSecretNameLength} letters, digits, '-', '_' and '.', and a version of 1 or more");
        }
    }

    private static bool VersionFits(string valueFrom)
    {
        var colon = valueFrom.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 || int.TryParse(valueFrom.AsSpan(colon + 1), out _);
    }
}
