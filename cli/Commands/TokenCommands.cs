using System.CommandLine;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using static Orchestrator.Cli.CommandExtensions;

namespace Orchestrator.Cli.Commands;

/// <summary>orchestrator token create|ls|revoke|rotate-join (TokenService, admin only).</summary>
internal static class TokenCommands
{
    public static readonly string[] Columns = ["tokenId", "name", "role", "createdAt", "revokedAt"];

    public static Command Create(CliContext context, GlobalOptions options) =>
        new Command("token", "API tokens (admin only)")
            .With(CreateCommand(context, options), List(context, options), Revoke(context, options), RotateJoin(context, options));

    private static Command CreateCommand(CliContext context, GlobalOptions options)
    {
        var name = new Argument<string?>("NAME") { Arity = ArgumentArity.ZeroOrOne, Description = "The token's name" };
        var role = new Option<string?>("--role") { Description = "admin, operator, read-only or balancer (orchestrator-balancer's stream only)" };
        return Verb("create", "Creates a token; its secret is shown this once (the API never answers it again)",
                "orchestrator token create ci --role operator -o json | jq -r .secret > ci.token")
            .With(name, role, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<CreateTokenRequest>();
                run.Set(name, n => request.Name = n);
                run.Set(role, r => request.Role = r);
                var response = await run.Tokens.CreateTokenAsync(request, cancellationToken: run.Cancel);
                if (run.Printer.Json)
                {
                    run.Printer.Message(response);
                }
                else
                {
                    run.Printer.Table([response.Token], Columns);
                    run.Printer.Line($"secret: {response.Secret}");
                    run.Printer.Line("(shown only now: keep it)");
                }

                return ExitCodes.Ok;
            });
    }

    private static Command List(CliContext context, GlobalOptions options) =>
        Verb("ls", "Lists tokens (never their secrets)", "orchestrator token ls")
            .With(options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var response = await run.Tokens.ListTokensAsync(run.Request<ListTokensRequest>(), cancellationToken: run.Cancel);
                return Shared.Show(run, response, response.Tokens, Columns);
            });

    private static Command Revoke(CliContext context, GlobalOptions options)
    {
        var id = new Argument<string?>("TOKEN_ID") { Arity = ArgumentArity.ZeroOrOne, Description = "The token's id (token ls)" };
        return Verb("revoke", "Revokes a token: it stops working at once, on open streams too", "orchestrator token revoke 6b1f0c2a")
            .With(id, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<RevokeTokenRequest>();
                run.Set(id, i => request.TokenId = i);
                var response = await run.Tokens.RevokeTokenAsync(request, cancellationToken: run.Cancel);
                return Shared.ShowOne(run, response, response.Token);
            });
    }

    private static Command RotateJoin(CliContext context, GlobalOptions options) =>
        Verb("rotate-join", "Makes a new join token (the old one no longer joins nodes); shown this once", "orchestrator token rotate-join")
            .Runs(context, options, async run =>
            {
                var response = await run.Tokens.RotateJoinTokenAsync(new RotateJoinTokenRequest(), cancellationToken: run.Cancel);
                return Shared.ShowOne(run, response, response);
            });
}
