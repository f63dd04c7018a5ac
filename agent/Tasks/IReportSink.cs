using Orchestrator.Contracts.V1;

namespace Orchestrator.Agent.Tasks;

/// <summary>Where task reports go: the scheduler connection numbers them, sends them and resends what is not acknowledged.</summary>
internal interface IReportSink
{
    void Report(TaskStateReport report);
}
