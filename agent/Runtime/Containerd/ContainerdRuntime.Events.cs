using System.Runtime.CompilerServices;
using Grpc.Core;

namespace Orchestrator.Agent.Runtime.Containerd;

/// <summary>containerd's task events as the agent's: start, exit of the init, OOM.</summary>
internal sealed partial class ContainerdRuntime
{
    public async IAsyncEnumerable<RuntimeEvent> EventsAsync(string labelKey, string labelValue, [EnumeratorCancellation] CancellationToken cancellation)
    {
        var request = new global::Containerd.Services.Events.V1.SubscribeRequest();
        foreach (var topic in TaskEvents.Topics)
        {
            // Filters are OR'd; within one, the comma is AND.
            request.Filters.Add($"namespace=={RuntimeLabels.Quote(_clients.Namespace)},topic=={RuntimeLabels.Quote(topic)}");
        }

        AsyncServerStreamingCall<global::Containerd.Services.Events.V1.Envelope> call;
        try
        {
            call = _clients.Events.Subscribe(request, cancellationToken: cancellation);
        }
        catch (RpcException e)
        {
            throw Unreachable(e);
        }

        using (call)
        {
            while (true)
            {
                global::Containerd.Services.Events.V1.Envelope envelope;
                try
                {
                    if (!await call.ResponseStream.MoveNext(cancellation))
                    {
                        // As Docker's stream ending: the event pump resyncs.
                        throw new RuntimeUnavailableException($"the containerd event stream at {_clients.Socket} ended");
                    }

                    envelope = call.ResponseStream.Current;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellation.IsCancellationRequested)
                {
                    yield break;
                }
                catch (RpcException e)
                {
                    throw new RuntimeUnavailableException($"the containerd event stream at {_clients.Socket} failed: {Describe(e)}", e);
                }

                if (TaskEvents.Parse(envelope.Topic, envelope.Event) is not { } parsed)
                {
                    continue;
                }

                if (parsed.Kind == RuntimeEventKind.OutOfMemory)
                {
                    // Remembered on the container: Inspect tells it after the task is gone, and after an agent restart.
                    try
                    {
                        await SetLabelsAsync(parsed.ContainerId, new Dictionary<string, string?> { [RuntimeLabels.OomKilled] = "true" }, cancellation);
                    }
                    catch (RuntimeUnavailableException)
                    {
                        // The stream's own read tells it next.
                    }
                }

                var labels = await LabelsOfAsync(parsed.ContainerId, cancellation);
                if (labels is null || !labels.TryGetValue(labelKey, out var value) || value != labelValue)
                {
                    continue;
                }

                yield return new RuntimeEvent(parsed.Kind, parsed.ContainerId, labels, parsed.ExitCode, ContainerHealth.None);
            }
        }
    }
}
