namespace Orchestrator.Scheduler.State;

/// <summary>Where a start command gets the values of the secret versions its task was pinned to.</summary>
internal interface ISecretValues
{
    /// <summary>
    /// The value of the secret's version, decrypted, or null when it cannot be had (the secret was
    /// deleted since the task was placed, or its stored value does not open): the command then goes
    /// without it, and the agent fails the task. The caller owns the bytes and holds them no longer
    /// than it takes to send them.
    /// </summary>
    /// <param name="taskId">The task the value is for, named in the log line when there is none.</param>
    byte[]? Open(string name, int version, string taskId);
}
