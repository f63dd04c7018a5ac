using System.Security.Cryptography;
using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.State;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Api;

/// <summary>SecretService: every answer is metadata (<see cref="SecretMapper"/>); no call returns a value.</summary>
internal sealed class SecretApi(ClusterState state) : SecretService.SecretServiceBase
{
    public override Task<PutSecretResponse> PutSecret(PutSecretRequest request, ServerCallContext context)
    {
        var (name, value, description) = SecretValidator.Put(request);
        try
        {
            var secret = state.PutSecret(name, value, description);
            return Task.FromResult(new PutSecretResponse { Secret = SecretMapper.ToContract(secret) });
        }
        finally
        {
            // Our copy of the plaintext; the request's own goes with the request.
            CryptographicOperations.ZeroMemory(value);
        }
    }

    public override Task<DescribeSecretResponse> DescribeSecret(DescribeSecretRequest request, ServerCallContext context) =>
        Task.FromResult(new DescribeSecretResponse { Secret = SecretMapper.ToContract(state.DescribeSecret(SecretValidator.Name(request.Name))) });

    public override Task<ListSecretsResponse> ListSecrets(ListSecretsRequest request, ServerCallContext context)
    {
        var secrets = state.ListSecrets(SecretValidator.NamePrefix(request.NamePrefix));
        var (page, next) = Paging.Page(secrets, s => s.Name, request.MaxResults, request.NextToken);
        var response = new ListSecretsResponse { NextToken = next };
        response.Secrets.AddRange(page.Select(SecretMapper.ToContract));
        return Task.FromResult(response);
    }

    public override Task<DeleteSecretResponse> DeleteSecret(DeleteSecretRequest request, ServerCallContext context) =>
        Task.FromResult(new DeleteSecretResponse { Secret = SecretMapper.ToContract(state.DeleteSecret(SecretValidator.Name(request.Name))) });
}
