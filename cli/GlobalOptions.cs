using System.CommandLine;

namespace Orchestrator.Cli;

/// <summary>The options every command takes (recursive on the root), and the ones many share.</summary>
internal sealed class GlobalOptions
{
    public Option<string?> Address { get; } = new("--addr")
    {
        Description = $"The scheduler: https://HOST:PORT, http://HOST:PORT (cleartext) or HOST:PORT; several separated by commas are tried in order until one answers [env: ORCHESTRATOR_ADDR; default {Connection.ConnectionSettings.DefaultAddress}]",
        Recursive = true,
    };

    public Option<string?> CaCert { get; } = new("--ca-cert")
    {
        Description = "PEM file of the cluster CA (the scheduler's data/ca.crt); only it is trusted [env: ORCHESTRATOR_CACERT]",
        Recursive = true,
    };

    public Option<string?> Token { get; } = new("--token")
    {
        Description = "API token sent as \"authorization: Bearer\" [env: ORCHESTRATOR_TOKEN]",
        Recursive = true,
    };

    public Option<string?> Output { get; } = new("--output", "-o")
    {
        Description = "table or json [default: table on a terminal, json when piped]",
        Recursive = true,
    };

    /// <summary>Added to each command that sends a request (not recursive: streams and compound commands have none).</summary>
    public Option<string?> CliInputJson { get; } = new("--cli-input-json")
    {
        Description = "The API request as JSON (as grpcurl -d takes it), from FILE or - (stdin); flags override its fields",
        HelpName = "FILE|-",
    };

    /// <summary>Shared by every command about a cluster's resources.</summary>
    public Option<string?> Cluster { get; } = new("--cluster", "-c")
    {
        Description = "The cluster [default: default]",
    };

    public GlobalOptions()
    {
        Output.AcceptOnlyFromAmong("table", "json");
    }
}
