using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Orchestrator.Tests.Shared;

/// <summary>
/// One of our daemons (scheduler, agent or balancer) as a real child process, as users run it. Shared by the
/// test projects through a linked source file.
/// </summary>
internal sealed class DaemonProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _stderr = [];
    private readonly List<string> _stdout = [];
    private bool _disposed;

    private DaemonProcess(Process process)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.Add(e.Data); };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.Add(e.Data); };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public IReadOnlyList<string> StandardError
    {
        get { lock (_stderr) return [.. _stderr]; }
    }

    public IReadOnlyList<string> StandardOutput
    {
        get { lock (_stdout) return [.. _stdout]; }
    }

    /// <summary>Starts orchestrator-scheduler.dll or orchestrator-agent.dll from the test's output folder.</summary>
    public static DaemonProcess Start(string dll, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return new DaemonProcess(Process.Start(info)!);
    }

    /// <summary>
    /// A scheduler on this gRPC port, its metrics endpoint off (tests run many daemons at once: the
    /// default metrics port would collide) unless <paramref name="settings"/> sets Scheduler:MetricsListen.
    /// </summary>
    public static DaemonProcess StartScheduler(string dataPath, int port, params string[] settings) =>
        Start("orchestrator-scheduler.dll", [$"--Scheduler:Listen=127.0.0.1:{port}", $"--Scheduler:DataPath={dataPath}", "--Scheduler:MetricsListen=", .. settings]);

    /// <summary>
    /// An orchestrator-balancer (from the test's output folder, as the daemons) with these settings, e.g.
    /// Balancer:Schedulers, Balancer:CaCertificate, Balancer:TokenFile and Balancer:Haproxy:*.
    /// </summary>
    public static DaemonProcess StartBalancer(params string[] settings) => Start("orchestrator-balancer.dll", settings);

    /// <summary>Waits until grpc.health.v1 answers SERVING, or the process ends, for at most 30 s.</summary>
    public async Task<bool> WaitUntilServingAsync(GrpcChannel channel)
    {
        var client = new Health.HealthClient(channel);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            try
            {
                var reply = await client.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                if (reply.Status == HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return true;
                }
            }
            catch (RpcException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        return false;
    }

    /// <summary>Waits until SERVING; where it never comes, throws with what the daemon wrote on stderr.</summary>
    public async Task RequireServingAsync(GrpcChannel channel)
    {
        if (!await WaitUntilServingAsync(channel))
        {
            throw new InvalidOperationException("the scheduler did not start: " + string.Join("\n", StandardError));
        }
    }

    public int WaitForExit() => WaitForExit(TimeSpan.FromSeconds(60));

    /// <summary>The exit code; a daemon still running after <paramref name="limit"/> is killed and this throws.</summary>
    public int WaitForExit(TimeSpan limit)
    {
        if (!_process.WaitForExit(limit))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the daemon did not exit within {limit.TotalSeconds:0} s");
        }

        _process.WaitForExit(); // flushes the redirected output
        return _process.ExitCode;
    }

    /// <summary>As <see cref="WaitForExit(TimeSpan)"/>, without holding a thread while it waits (the caller's own streams go on).</summary>
    public async Task<int> WaitForExitAsync(TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the daemon did not exit within {limit.TotalSeconds:0} s");
        }

        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown code runs, as in a crash.</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>SIGTERM: a graceful stop, as systemctl stop and docker stop ask for it.</summary>
    public void Terminate() => PosixSignal.Send(_process.Id, PosixSignal.Term);

    /// <summary>SIGSTOP: the process freezes with its sockets open, as a hung host or a paused VM.</summary>
    public void Freeze() => PosixSignal.Send(_process.Id, PosixSignal.Stop);

    /// <summary>SIGCONT: a frozen process goes on where it stopped.</summary>
    public void Thaw() => PosixSignal.Send(_process.Id, PosixSignal.Cont);

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            KillHard();
        }

        _process.Dispose();
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
