namespace Orchestrator.Agent.Hosting;

/// <summary>
/// Orders the agent's start: Docker must answer before its events are watched, and events must be
/// watched before containers are adopted, so that nothing that happens in between is missed.
/// </summary>
internal sealed class AgentStartup
{
    private readonly TaskCompletionSource _dockerReady = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _watching = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task DockerReady => _dockerReady.Task;
    public Task Watching => _watching.Task;

    public void SignalDockerReady() => _dockerReady.TrySetResult();

    public void SignalWatching() => _watching.TrySetResult();
}
