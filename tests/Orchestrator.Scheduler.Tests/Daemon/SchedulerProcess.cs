using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Orchestrator.Scheduler.Tests.Daemon;

/// <summary>The real scheduler daemon as a child process on 127.0.0.1, for what only a process shows.</summary>
internal sealed class SchedulerProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _stderr = [];
    private readonly List<string> _stdout = [];

    private SchedulerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.Add(e.Data); };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.Add(e.Data); };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        Channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
    }

    public int Port { get; }
    public GrpcChannel Channel { get; }

    public IReadOnlyList<string> StandardError
    {
        get { lock (_stderr) return [.. _stderr]; }
    }

    public static SchedulerProcess Start(string dataPath, int? port = null, params string[] settings)
    {
        var listenPort = port ?? FreePort();
        var dll = Path.Combine(AppContext.BaseDirectory, "orchestrator-scheduler.dll");
        var info = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll, $"--Scheduler:Listen=127.0.0.1:{listenPort}", $"--Scheduler:DataPath={dataPath}" },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var setting in settings)
        {
            info.ArgumentList.Add(setting);
        }

        return new SchedulerProcess(Process.Start(info)!, listenPort);
    }

    /// <summary>Waits until grpc.health.v1 answers SERVING, or the process ends, for at most 30 s.</summary>
    public async Task<bool> WaitUntilServingAsync()
    {
        var client = new Health.HealthClient(Channel);
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

    public int WaitForExit()
    {
        if (!_process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException("the scheduler did not exit within 60 s");
        }

        _process.WaitForExit(); // flushes the redirected output
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown code runs, as in a crash or a power cut of the process.</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        Channel.Dispose();
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
