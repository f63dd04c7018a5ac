namespace Orchestrator.Cli.Output;

/// <summary>--output: table for people (the default on a terminal), json for scripts (the default when piped).</summary>
internal enum OutputFormat
{
    Table,
    Json,
}
