using Grpc.Core;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Security;
using Orchestrator.Scheduler.State;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Scheduler.Api;

internal sealed class TokenApi(ClusterState state, JoinTokens joinTokens) : TokenService.TokenServiceBase
{
    public override Task<CreateTokenResponse> CreateToken(CreateTokenRequest request, ServerCallContext context)
    {
        var name = Names.Require(request.Name, "name", "token name");
        var role = ApiPermissions.Parse(request.Role)
            ?? throw RequestException.Invalid("role", $"must be \"admin\", \"operator\", \"read-only\" or \"balancer\", not \"{Echo.Clip(request.Role)}\"");
        var secret = Secrets.New(ApiTokens.Prefix);
        var token = state.CreateToken(Secrets.NewId("tok-"), name, role, Secrets.Hash(secret));
        return Task.FromResult(new CreateTokenResponse { Token = ToContract(token), Secret = secret });
    }

    public override Task<ListTokensResponse> ListTokens(ListTokensRequest request, ServerCallContext context)
    {
        var response = new ListTokensResponse();
        response.Tokens.AddRange(state.ListTokens().Select(ToContract));
        return Task.FromResult(response);
    }

    public override Task<RevokeTokenResponse> RevokeToken(RevokeTokenRequest request, ServerCallContext context)
    {
        if (request.TokenId.Length == 0)
        {
            throw RequestException.Invalid("tokenId", "is required");
        }

        var id = Names.Text(request.TokenId, "tokenId", 64);
        return Task.FromResult(new RevokeTokenResponse { Token = ToContract(state.RevokeToken(id)) });
    }

    public override Task<RotateJoinTokenResponse> RotateJoinToken(RotateJoinTokenRequest request, ServerCallContext context) =>
        Task.FromResult(new RotateJoinTokenResponse { JoinToken = joinTokens.Rotate() });

    private static ApiToken ToContract(ApiTokenRecord token) => new()
    {
        TokenId = token.Id,
        Name = token.Name,
        Role = ApiPermissions.Name(token.Role),
        CreatedAt = Timestamps.From(token.CreatedAt),
        RevokedAt = Timestamps.From(token.RevokedAt),
    };
}
