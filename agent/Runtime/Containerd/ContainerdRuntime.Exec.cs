using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Orchestrator.Agent.Runtime.Logs;
using Status = Containerd.V1.Types.Status;

namespace Orchestrator.Agent.Runtime.Containerd;

/// <summary>Task sessions: the log file the shim writes, and processes exec'd in a container's task.</summary>
internal sealed partial class ContainerdRuntime
{
    /// <summary>How long the FIFOs may take to be opened at both ends once the shim has the process.</summary>
    private static readonly TimeSpan FifoOpenBound = TimeSpan.FromSeconds(10);

    public IAsyncEnumerable<OutputChunk> ReadLogsAsync(string id, LogReadOptions options, CancellationToken cancellation) =>
        ContainerLogFile.ReadAsync(ContainerLogFile.PathOf(LogsDirectory, id), options, async c => await InspectAsync(id, c) is { Running: true }, cancellation);

    public async Task<IExecProcess> ExecAsync(string id, ExecSpec spec, CancellationToken cancellation)
    {
        if (spec.Tty)
        {
            throw new ContainerOperationException($"cannot run a command in container {id}: a terminal (tty) needs the docker runtime; this node runs containerd");
        }

        var container = await GetContainerAsync(id, cancellation)
            ?? throw new ContainerOperationException($"cannot run a command in container {id}: No such container: {id}");
        var task = await GetProcessAsync(id, "", cancellation);
        if (task is not { Status: Status.Running })
        {
            throw new ContainerOperationException($"cannot run a command in container {id}: container {id} is not running");
        }

        // The container's own process (user, working directory, environment, capabilities), with
        // another command: as ctr's and nerdctl's exec.
        JsonNode process;
        try
        {
            process = JsonNode.Parse(container.Spec.Value.ToStringUtf8())?["process"]?.DeepClone() ?? throw new FormatException("no process in the spec");
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException)
        {
            throw new ContainerOperationException($"cannot run a command in container {id}: its OCI spec cannot be read: {e.Message}", e);
        }

        process["args"] = new JsonArray([.. spec.Command.Select(a => (JsonNode?)JsonValue.Create(a))]);
        var environment = process["env"] as JsonArray ?? [];
        // The exec's variables replace the container's of the same name (as Docker's exec), not follow
        // them: a second NAME= would be invisible to getenv, which returns the first.
        var replaced = spec.Environment.Select(e => e.Split('=', 2)[0]).ToHashSet(StringComparer.Ordinal);
        process["env"] = new JsonArray([
            .. environment.Where(e => e is not null && !replaced.Contains(e.GetValue<string>().Split('=', 2)[0])).Select(e => e!.DeepClone()),
            .. spec.Environment.Select(e => (JsonNode?)JsonValue.Create(e))]);
        process["terminal"] = false;
        process.AsObject().Remove("consoleSize");

        var execId = "exec-" + Guid.NewGuid().ToString("N");
        var directory = Path.Combine(FifoDirectory, execId);
        Directory.CreateDirectory(directory);
        var stdout = Path.Combine(directory, "stdout");
        var stderr = Path.Combine(directory, "stderr");
        var stdin = spec.Interactive ? Path.Combine(directory, "stdin") : "";
        Task<FileStream>? stdoutOpen = null, stderrOpen = null, stdinOpen = null;
        try
        {
            Fifo.Make(stdout);
            Fifo.Make(stderr);
            if (stdin.Length > 0)
            {
                Fifo.Make(stdin);
            }

            var request = new global::Containerd.Services.Tasks.V1.ExecProcessRequest
            {
                ContainerId = id,
                ExecId = execId,
                Stdin = stdin,
                Stdout = stdout,
                Stderr = stderr,
                Terminal = false,
                Spec = new Any { TypeUrl = ProcessTypeUrl, Value = ByteString.CopyFromUtf8(process.ToJsonString()) },
            };

            // The shim opens its ends when the process starts and closes them when it ends: our ends are
            // opened first (the opens wait for the shim's), or the output of a command that ends at once
            // would be lost with the pipe.
            stdoutOpen = Fifo.OpenReadAsync(stdout);
            stderrOpen = Fifo.OpenReadAsync(stderr);
            stdinOpen = stdin.Length > 0 ? Fifo.OpenWriteAsync(stdin) : null;
            await _clients.Tasks.ExecAsync(request, cancellationToken: cancellation);

            // Not cut short by the caller: a start carried out that this side gave up on would leave a
            // process nobody kills.
            await _clients.Tasks.StartAsync(new global::Containerd.Services.Tasks.V1.StartRequest { ContainerId = id, ExecId = execId }, cancellationToken: CancellationToken.None);

            var opened = Task.WhenAll(stdinOpen is null ? [stdoutOpen, stderrOpen] : [stdoutOpen, stderrOpen, stdinOpen]);
            if (await Task.WhenAny(opened, Task.Delay(FifoOpenBound, CancellationToken.None)) != opened)
            {
                await KillAsync(id, execId, 9, all: true, CancellationToken.None);
                throw new ContainerOperationException($"cannot run a command in container {id}: the shim did not open its pipes within {FifoOpenBound.TotalSeconds:0} s");
            }

            var started = new ContainerdExecProcess(_clients, id, execId, directory, await stdoutOpen, await stderrOpen, stdinOpen is null ? null : await stdinOpen);
            return started;
        }
        catch (Exception e)
        {
            await AbandonExecAsync(id, execId, [stdout, stderr, stdin], [stdoutOpen, stderrOpen, stdinOpen], directory);
            throw e switch
            {
                ContainerOperationException or OperationCanceledException => e,
                RpcException rpc when ContainerdClients.IsUnreachable(rpc) => Unreachable(rpc),
                RpcException rpc => new ContainerOperationException($"cannot run a command in container {id}: {Describe(rpc)}", e),
                _ => new ContainerOperationException($"cannot run a command in container {id}: {e.Message}", e),
            };
        }
    }

    /// <summary>Undoes an exec that did not start: the pipes' opens released and closed, the process deleted, the FIFOs removed.</summary>
    private async Task AbandonExecAsync(string id, string execId, string[] fifos, Task<FileStream>?[] opens, string directory)
    {
        foreach (var fifo in fifos.Where(f => f.Length > 0 && File.Exists(f)))
        {
            Fifo.Release(fifo);
        }

        foreach (var open in opens.OfType<Task<FileStream>>())
        {
            try
            {
                await (await open).DisposeAsync();
            }
            catch (IOException)
            {
                // Never opened.
            }
        }

        try
        {
            await _clients.Tasks.DeleteProcessAsync(new global::Containerd.Services.Tasks.V1.DeleteProcessRequest { ContainerId = id, ExecId = execId });
        }
        catch (RpcException)
        {
            // Never made, or the task is gone with it.
        }

        DeleteDirectory(directory);
    }
}
