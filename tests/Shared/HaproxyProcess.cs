using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Tests.Shared;

/// <summary>
/// A real HAProxy (Debian's 2.6, /usr/sbin/haproxy) in master-worker mode on loopback, for tests: its
/// config, sockets and state file in a temporary directory of its own, started as Debian's unit starts it
/// (<c>haproxy -W -S master.sock -f cfg</c>), stopped and started again at will.
/// </summary>
internal sealed class HaproxyProcess : IDisposable
{
    private Process? _process;

    public HaproxyProcess()
    {
        Directory = Path.Combine(Path.GetTempPath(), "haproxy-test-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public string ConfigPath => Path.Combine(Directory, "haproxy.cfg");

    public string AdminSocket => Path.Combine(Directory, "admin.sock");

    public string MasterSocket => Path.Combine(Directory, "master.sock");

    public string StateFile => Path.Combine(Directory, "servers.state");

    public string LogPath => Path.Combine(Directory, "haproxy.log");

    public static string Binary => File.Exists("/usr/sbin/haproxy") ? "/usr/sbin/haproxy" : "haproxy";

    /// <summary>A minimal configuration with the admin socket, for a first start before the balancer writes its own.</summary>
    public void WriteEmptyConfig() => File.WriteAllText(ConfigPath, $"global\n    stats socket {AdminSocket} level admin expose-fd listeners\n    server-state-file {StateFile}\n");

    /// <summary>Starts HAProxy on the configuration there is and waits until its admin socket answers.</summary>
    public async Task StartAsync()
    {
        if (!File.Exists(ConfigPath))
        {
            WriteEmptyConfig();
        }

        var start = new ProcessStartInfo(Binary)
        {
            ArgumentList = { "-W", "-S", MasterSocket, "-f", ConfigPath },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("haproxy did not start");
        var process = _process;
        _ = Task.Run(async () =>
        {
            var output = await process.StandardError.ReadToEndAsync();
            await File.AppendAllTextAsync(LogPath, output);
        });
        _ = process.StandardOutput.ReadToEndAsync();
        await Polling.UntilAsync(
            async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"haproxy exited with {process.ExitCode}: {File.ReadAllText(LogPath)}");
                }

                return await AnswersAsync(AdminSocket) && await AnswersAsync(MasterSocket);
            },
            "haproxy answers on its admin and master sockets",
            TimeSpan.FromSeconds(15));
    }

    /// <summary>Stops the master (SIGTERM stops its workers too) and waits for it.</summary>
    public void Stop()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }

        _process = null;
        File.Delete(AdminSocket);
        File.Delete(MasterSocket);
    }

    public async Task RestartAsync()
    {
        Stop();
        await StartAsync();
    }

    /// <summary>One command to the admin socket (e.g. <c>show servers state</c>), its whole answer.</summary>
    public async Task<string> CommandAsync(string command)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(AdminSocket), timeout.Token);
        await socket.SendAsync(System.Text.Encoding.ASCII.GetBytes(command + "\n"), SocketFlags.None, timeout.Token);
        socket.Shutdown(SocketShutdown.Send);
        var answer = new System.Text.StringBuilder();
        var buffer = new byte[16384];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            answer.Append(System.Text.Encoding.UTF8.GetString(buffer, 0, read));
        }

        return answer.ToString();
    }

    /// <summary>Whether something listens on the socket (the master's CLI only once its worker is ready).</summary>
    public static async Task<bool> AnswersAsync(string path)
    {
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>A loopback port free now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        Stop();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the system's temporary files cleanup.
        }
    }
}
