using Orchestrator.Scheduler.Domain;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Mapping;

/// <summary>A secret as answers show it: its metadata. The record holds no value, so none can slip in.</summary>
internal static class SecretMapper
{
    public static Contract.SecretMetadata ToContract(SecretRecord secret)
    {
        var metadata = new Contract.SecretMetadata
        {
            Name = secret.Name,
            Description = secret.Description,
            LatestVersion = secret.LastVersion,
            CreatedAt = Timestamps.From(secret.CreatedAt),
            UpdatedAt = Timestamps.From(secret.UpdatedAt),
        };
        metadata.Versions.AddRange(secret.Versions);
        return metadata;
    }
}
