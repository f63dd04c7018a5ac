using Google.Protobuf;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Agents;

/// <summary>
/// A start command's secret values (StartTaskCommand.secret_values): for each valueFrom of the task's
/// containers, exactly as written there, the value of the version the task was pinned to at placement.
/// The one place values are decrypted. A version that cannot be had (deleted since) is left out, and
/// the agent, finding a reference without its value, fails the task.
/// </summary>
internal static class StartCommandSecrets
{
    public static void Fill(Contract.StartTaskCommand start, TaskRecord task, ISecretValues secrets)
    {
        if (task.SecretVersions is not { } versions)
        {
            return;
        }

        foreach (var (valueFrom, version) in versions)
        {
            if (secrets.Open(SecretReference.NameOf(valueFrom), version, task.Id) is { } value)
            {
                // Wrapped, not copied: the command holds the one plaintext copy, which goes with it once sent.
                start.SecretValues[valueFrom] = UnsafeByteOperations.UnsafeWrap(value);
            }
        }
    }
}
