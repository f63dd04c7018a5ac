using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Orchestrator.Agent.Runtime.Containerd.Cni;

/// <summary>Raised when a plugin answers with an error (or dies); the message is the plugin's own msg.</summary>
internal sealed class CniPluginException(string plugin, string message) : Exception(message)
{
    public string Plugin { get; } = plugin;
}

/// <summary>
/// Runs one CNI plugin binary as the spec says: the command and the container in CNI_* variables, the
/// network configuration on stdin, the result (or the error object) on stdout.
/// </summary>
internal sealed class CniPlugin(string binDirectory)
{
    public string BinDirectory { get; } = binDirectory;

    public string PathOf(string type) => Path.Combine(BinDirectory, type);

    public bool Exists(string type) => File.Exists(PathOf(type));

    /// <returns>The result printed (null when the plugin prints nothing, as DEL does).</returns>
    /// <exception cref="CniPluginException">The plugin failed.</exception>
    public async Task<JsonObject?> RunAsync(string command, string containerId, string? networkNamespacePath, JsonObject config, CancellationToken cancellation)
    {
        var type = config["type"]?.GetValue<string>() ?? throw new ArgumentException("config without a type", nameof(config));
        var (exitCode, stdout, stderr) = await ExecAsync(type, command, containerId, networkNamespacePath, config.ToJsonString(), cancellation).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new CniPluginException(type, CniResults.ErrorMessage(stdout, stderr, exitCode));
        }
        if (string.IsNullOrWhiteSpace(stdout))
        {
            return null;
        }
        try
        {
            return JsonNode.Parse(stdout) as JsonObject;
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new CniPluginException(type, $"printed a result that is not JSON: {ex.Message}");
        }
    }

    /// <summary>The spec versions the plugin speaks (CNI_COMMAND=VERSION).</summary>
    public async Task<IReadOnlyList<string>> VersionsAsync(string type, CancellationToken cancellation)
    {
        var (exitCode, stdout, stderr) = await ExecAsync(type, "VERSION", "", null, """{"cniVersion":"1.0.0"}""", cancellation).ConfigureAwait(false);
        return exitCode == 0 ? CniResults.SupportedVersions(stdout) : throw new CniPluginException(type, CniResults.ErrorMessage(stdout, stderr, exitCode));
    }

    private async Task<(int ExitCode, string Stdout, string Stderr)> ExecAsync(string type, string command, string containerId, string? networkNamespacePath, string stdin, CancellationToken cancellation)
    {
        var start = new ProcessStartInfo(PathOf(type))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["CNI_COMMAND"] = command;
        start.Environment["CNI_CONTAINERID"] = containerId;
        start.Environment["CNI_NETNS"] = networkNamespacePath ?? "";
        start.Environment["CNI_IFNAME"] = "eth0";
        // Plugins find the IPAM plugin (host-local) here.
        start.Environment["CNI_PATH"] = BinDirectory;
        // portmap and firewall run iptables; a service's PATH may lack the sbin directories.
        start.Environment["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

        using var process = Process.Start(start) ?? throw new CniPluginException(type, "could not be started");
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.StandardInput.WriteAsync(stdin.AsMemory(), cancellation).ConfigureAwait(false);
            process.StandardInput.Close();
            await process.WaitForExitAsync(cancellation).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }
}
