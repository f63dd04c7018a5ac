namespace Orchestrator.Agent.Runtime.Logs;

/// <summary>Keeps each watched log under its max size: copies it to .1 (shifting older ones up to max files) and truncates it in place. (helper D)</summary>
internal sealed class LogRotator
{
    public void Watch(string id, string path, long maxBytes, int maxFiles) => throw new NotImplementedException(id + path + maxBytes + maxFiles);

    public void Forget(string id) => throw new NotImplementedException(id);
}
