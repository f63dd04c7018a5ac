using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;
using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Api.TaskIo;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.State;
using Orchestrator.Scheduler.Telemetry;

namespace Orchestrator.Scheduler.Api;

internal sealed class TaskApi(ClusterState state, RunTaskBatcher runTasks, SchedulerStopping stopping, SchedulerMeter meter, TaskLogsApi logs, TaskExecApi exec)
    : TaskService.TaskServiceBase
{
    public override async Task<RunTaskResponse> RunTask(RunTaskRequest request, ServerCallContext context)
    {
        var started = SchedulerMeter.Now();
        var outcome = await runTasks.RunAsync(RunTaskValidator.Validate(request));
        var response = new RunTaskResponse();
        response.Tasks.AddRange(outcome.Tasks.Select(Map));
        response.Failures.AddRange(outcome.Failures.Select(f => new Failure { Subject = f.Subject, Reason = f.Reason, Detail = f.Detail }));
        meter.RunTaskAnswered(started);
        return response;
    }

    /// <summary>RunTask on named nodes: the same batching, receipts and commit, one task (or failure) per node.</summary>
    public override async Task<StartTaskResponse> StartTask(StartTaskRequest request, ServerCallContext context)
    {
        var started = SchedulerMeter.Now();
        var outcome = await runTasks.RunAsync(StartTaskValidator.Validate(request));
        var response = new StartTaskResponse();
        response.Tasks.AddRange(outcome.Tasks.Select(Map));
        response.Failures.AddRange(outcome.Failures.Select(ToContract));
        meter.RunTaskAnswered(started);
        return response;
    }

    public override Task<StopTaskResponse> StopTask(StopTaskRequest request, ServerCallContext context)
    {
        var cluster = Names.Cluster(request.Cluster);
        var id = TaskIds.Require(request.Task, "task");
        var reason = Names.Text(request.Reason, "reason", Limits.MaxReasonLength);
        return Task.FromResult(new StopTaskResponse { Task = Map(state.StopTask(cluster, id, reason)) });
    }

    public override Task<DescribeTasksResponse> DescribeTasks(DescribeTasksRequest request, ServerCallContext context)
    {
        var cluster = state.RequireClusterName(Names.Cluster(request.Cluster));
        var ids = TaskIds.RequireList(request.Tasks, Limits.MaxDescribe, "tasks");
        var found = state.DescribeTasks(cluster, ids);
        var response = new DescribeTasksResponse();
        DescribeAnswers.Fill(ids.Select((id, i) => (id, found[i])), t => Map(t), response.Tasks, response.Failures,
            id => $"task \"{id}\" does not exist in cluster \"{cluster}\"");

        return Task.FromResult(response);
    }

    public override Task<ListTasksResponse> ListTasks(ListTasksRequest request, ServerCallContext context)
    {
        var cluster = Names.Cluster(request.Cluster);
        // As ECS: what is meant to run unless STOPPED is asked for; both only when asked for.
        TaskState? desired = request.DesiredStatus switch
        {
            _ when request.IncludeAllStatuses => null,
            TaskStatus.Unspecified or TaskStatus.Running => TaskState.Running,
            TaskStatus.Stopped => TaskState.Stopped,
            _ => throw RequestException.Invalid("desiredStatus", $"must be TASK_STATUS_RUNNING or TASK_STATUS_STOPPED, not {request.DesiredStatus}"),
        };
        var ids = state.ListTasks(
            cluster,
            Names.Text(request.Family, "family", Names.MaxLength),
            Names.Text(request.Node, "node", Names.MaxLength),
            desired,
            Names.Text(request.StartedBy, "startedBy", 128),
            Names.Text(request.Service, "service", Names.MaxLength));
        var (page, next) = Paging.Page(ids, id => id, request.MaxResults, request.NextToken);
        var response = new ListTasksResponse { NextToken = next };
        response.TaskIds.AddRange(page);
        return Task.FromResult(response);
    }

    public override async Task WatchTasks(WatchTasksRequest request, IServerStreamWriter<TaskEvent> responseStream, ServerCallContext context)
    {
        var filter = new TaskWatchFilter(
            Names.Cluster(request.Cluster),
            Names.Text(request.Family, "family", Names.MaxLength),
            Names.Text(request.Node, "node", Names.MaxLength),
            Names.Text(request.Service, "service", Names.MaxLength));
        using var open = stopping.Open();
        var (subscription, existing) = state.Watch(filter, request.IncludeExisting);
        await WatchStream.ServeAsync(
            subscription,
            existing.Select(task => new TaskEvent { Task = Map(task), Existing = true }),
            task => new TaskEvent { Task = Map(task) },
            responseStream,
            context,
            stopping);
    }

    public override Task<UpdateTaskProtectionResponse> UpdateTaskProtection(UpdateTaskProtectionRequest request, ServerCallContext context)
    {
        var cluster = Names.Cluster(request.Cluster);
        var ids = TaskIds.RequireList(request.Tasks, MaxProtectionUpdates, "tasks");
        var minutes = request.HasExpiresInMinutes ? request.ExpiresInMinutes : DefaultProtectionMinutes;
        if (minutes is < 1 or > MaxProtectionMinutes)
        {
            throw RequestException.Invalid("expiresInMinutes", $"must be between 1 and {MaxProtectionMinutes} (48 hours), not {minutes}");
        }

        var (tasks, failures) = state.UpdateTaskProtection(cluster, ids, request.ProtectionEnabled, TimeSpan.FromMinutes(minutes));
        var response = new UpdateTaskProtectionResponse();
        response.ProtectedTasks.AddRange(tasks.Select(ToContract));
        response.Failures.AddRange(failures.Select(ToContract));
        return Task.FromResult(response);
    }

    public override Task<GetTaskProtectionResponse> GetTaskProtection(GetTaskProtectionRequest request, ServerCallContext context)
    {
        var cluster = Names.Cluster(request.Cluster);
        var (tasks, failures) = state.GetTaskProtection(cluster, TaskIds.RequireList(request.Tasks, Limits.MaxDescribe, "tasks"));
        var response = new GetTaskProtectionResponse();
        response.ProtectedTasks.AddRange(tasks.Select(ToContract));
        response.Failures.AddRange(failures.Select(ToContract));
        return Task.FromResult(response);
    }

    /// <summary>Read by the agent of the task's node, over a session of its own (see <see cref="TaskLogsApi"/>).</summary>
    public override Task GetTaskLogs(GetTaskLogsRequest request, IServerStreamWriter<GetTaskLogsResponse> responseStream, ServerCallContext context) =>
        logs.ServeAsync(request, responseStream, context);

    /// <summary>Run by the agent of the task's node, over a session of its own (see <see cref="TaskExecApi"/>).</summary>
    public override Task ExecuteCommand(IAsyncStreamReader<ExecuteCommandRequest> requestStream, IServerStreamWriter<ExecuteCommandResponse> responseStream, ServerCallContext context) =>
        exec.ServeAsync(requestStream, responseStream, context);

    // ECS's bounds: 10 tasks per update, protection for 1 minute to 48 hours, 2 hours when not given.
    private const int MaxProtectionUpdates = 10;
    private const int MaxProtectionMinutes = 2880;
    private const int DefaultProtectionMinutes = 120;

    private static ProtectedTask ToContract(TaskProtection protection) => new()
    {
        TaskId = protection.TaskId,
        ProtectionEnabled = protection.ExpiresAt is not null,
        ExpirationDate = Timestamps.From(protection.ExpiresAt),
    };

    private static Failure ToContract(Storage.ReceiptFailure failure) => new() { Subject = failure.Subject, Reason = failure.Reason, Detail = failure.Detail };

    private Contracts.V1.Task Map(Domain.TaskRecord task) => TaskMapper.ToContract(task, state.IsNodeConnected(task.Cluster, task.Node));
}
