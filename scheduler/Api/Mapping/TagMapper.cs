using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Mapping;

internal static class TagMapper
{
    /// <summary>Tags as the API lists them: by key.</summary>
    public static IEnumerable<Contract.Tag> ToContract(IReadOnlyDictionary<string, string> tags) =>
        tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => new Contract.Tag { Key = t.Key, Value = t.Value });
}
