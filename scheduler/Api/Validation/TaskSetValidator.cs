using System.Text.RegularExpressions;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Services;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>The task set calls' input, as ECS takes it: scale 0..100 PERCENT, ids, external ids and client tokens bounded.</summary>
internal static partial class TaskSetValidator
{
    public const int MaxExternalId = 255;
    public const int MaxClientToken = 36;
    public const int MaxIdLength = 64;

    public static TaskSetDefinition Validate(Contract.CreateTaskSetRequest request)
    {
        var cluster = Names.Cluster(request.Cluster);
        var service = Names.Require(request.Service, "service", "service name");
        var reference = Names.TaskDefinitionReference(request.TaskDefinition);
        var scale = request.Scale is null ? TaskSets.DefaultScale : Scale(request.Scale);
        var externalId = Names.Text(request.ExternalId, "externalId", MaxExternalId);
        if (request.ClientToken.Length > MaxClientToken || request.ClientToken.Any(c => c < 0x21 || c > 0x7e))
        {
            throw RequestException.Invalid("clientToken", $"must be at most {MaxClientToken} printable ASCII characters");
        }

        return new TaskSetDefinition(cluster, service, reference, scale, externalId, request.ClientToken);
    }

    /// <summary>A scale: value 0..100 (a finite number), unit PERCENT (empty is PERCENT).</summary>
    public static double Scale(Contract.Scale? scale, string field = "scale")
    {
        if (scale is null)
        {
            throw RequestException.Invalid(field, "is required: {value (0..100), unit PERCENT}");
        }

        if (scale.Unit is not ("" or "PERCENT"))
        {
            throw RequestException.Invalid($"{field}.unit", $"must be \"PERCENT\", not \"{Echo.Clip(scale.Unit)}\"");
        }

        if (!double.IsFinite(scale.Value) || scale.Value is < 0 or > 100)
        {
            throw RequestException.Invalid($"{field}.value", $"must be between 0 and 100 (percent), not {scale.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        }

        return scale.Value;
    }

    /// <summary>A task set id as this scheduler makes them ("ecs-svc/…"): required, bounded.</summary>
    public static string Id(string value, string field)
    {
        if (value.Length == 0)
        {
            throw RequestException.Invalid(field, "task set id is required");
        }

        if (value.Length > MaxIdLength || !IdPattern().IsMatch(value))
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(value)}\" is not a valid task set id: use 1 to {MaxIdLength} letters, digits, slashes, hyphens and underscores");
        }

        return value;
    }

    public static IReadOnlyList<string> Ids(IReadOnlyList<string> values, string field)
    {
        Limits.Count(values, Limits.MaxDescribe, field);
        return [.. values.Select((v, i) => Id(v, $"{field}[{i}]"))];
    }

    [GeneratedRegex("^[A-Za-z0-9/_-]+\\z")]
    private static partial Regex IdPattern();
}
