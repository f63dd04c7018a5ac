using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Orchestrator.Agent.Runtime.Containerd.Cni;

/// <summary>
/// Named network namespaces (/run/netns/NAME), made and removed by iproute2's `ip netns`: it does the
/// unshare + bind mount on a process of its own, so no thread of the agent ever changes namespace.
/// </summary>
internal static class NetworkNamespaces
{
    public const string Directory = "/run/netns";

    /// <summary>"orch-&lt;container id&gt;"; a long id is shortened to a hash (a name is a file name).</summary>
    public static string NameFor(string containerId) =>
        containerId.Length <= 100 ? "orch-" + containerId : "orch-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(containerId)))[..32];

    public static string PathOf(string name) => Path.Combine(Directory, name);

    // The first `ip netns add` makes /run/netns a shared mount point; two racing to do it stack two
    // mounts. The commands take milliseconds, so one at a time costs nothing worth having.
    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <exception cref="ContainerOperationException">ip is missing or failed.</exception>
    public static async Task CreateAsync(string name, CancellationToken cancellation)
    {
        if (File.Exists(PathOf(name)))
        {
            // Left by a setup that died before it could be undone: start from a clean namespace.
            await DeleteAsync(name, cancellation).ConfigureAwait(false);
        }
        await IpAsync(["netns", "add", name], cancellation).ConfigureAwait(false);
    }

    /// <summary>Removes the namespace; one that is not there is fine.</summary>
    public static async Task DeleteAsync(string name, CancellationToken cancellation)
    {
        if (File.Exists(PathOf(name)))
        {
            await IpAsync(["netns", "delete", name], cancellation).ConfigureAwait(false);
        }
    }

    private static async Task IpAsync(IReadOnlyList<string> arguments, CancellationToken cancellation)
    {
        await Gate.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            await RunIpAsync(arguments, cancellation).ConfigureAwait(false);
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task RunIpAsync(IReadOnlyList<string> arguments, CancellationToken cancellation)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new ContainerOperationException("CannotCreateContainerError: could not run ip");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new ContainerOperationException("CannotCreateContainerError: ip (iproute2) is needed for network namespaces and was not found", ex);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            // Never cut short: an `ip netns add` left running would make its namespace after the caller,
            // finding none yet, had given up and forgotten it, and no sweep would know it.
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            await stdout.ConfigureAwait(false);
            var error = (await stderr.ConfigureAwait(false)).Trim();
            if (process.ExitCode != 0)
            {
                throw new ContainerOperationException($"CannotCreateContainerError: ip {string.Join(' ', arguments)}: {error}");
            }
        }
    }
}
