using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.State;

// TEMPORARY, until branch wt-tg (ClusterState.TargetGroups.cs) is merged: delete this file then.
internal sealed partial class ClusterState
{
    public TargetGroupRecord? TargetGroupNamed(string name) => null;
}
