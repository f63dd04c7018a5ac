using Grpc.Core;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using TaskStatus = Orchestrator.Contracts.V1.TaskStatus;
using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Hosting;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Api;

internal sealed class TaskApi(ClusterState state, RunTaskBatcher runTasks) : TaskService.TaskServiceBase
{
    public override async Task<RunTaskResponse> RunTask(RunTaskRequest request, ServerCallContext context)
    {
        var outcome = await runTasks.RunAsync(RunTaskValidator.Validate(request));
        var response = new RunTaskResponse();
        response.Tasks.AddRange(outcome.Tasks.Select(Map));
        response.Failures.AddRange(outcome.Failures.Select(f => new Failure { Subject = f.Subject, Reason = f.Reason, Detail = f.Detail }));
        return response;
    }

    public override Task<StopTaskResponse> StopTask(StopTaskRequest request, ServerCallContext context)
    {
        var cluster = Names.Cluster(request.Cluster);
        var id = TaskId(request.Task, "task");
        var reason = Names.Text(request.Reason, "reason", Limits.MaxReasonLength);
        return Task.FromResult(new StopTaskResponse { Task = Map(state.StopTask(cluster, id, reason)) });
    }

    public override Task<DescribeTasksResponse> DescribeTasks(DescribeTasksRequest request, ServerCallContext context)
    {
        var cluster = Names.Cluster(request.Cluster);
        if (request.Tasks.Count == 0)
        {
            throw RequestException.Invalid("tasks", "name at least one task id");
        }

        Limits.Count(request.Tasks, Limits.MaxDescribe, "tasks");
        var ids = request.Tasks.Select((t, i) => TaskId(t, $"tasks[{i}]")).ToList();
        var found = state.DescribeTasks(cluster, ids);
        var response = new DescribeTasksResponse();
        for (var i = 0; i < ids.Count; i++)
        {
            if (found[i] is { } task)
            {
                response.Tasks.Add(Map(task));
            }
            else
            {
                response.Failures.Add(new Failure { Subject = ids[i], Reason = "MISSING", Detail = $"task \"{ids[i]}\" does not exist in cluster \"{cluster}\"" });
            }
        }

        return Task.FromResult(response);
    }

    public override Task<ListTasksResponse> ListTasks(ListTasksRequest request, ServerCallContext context)
    {
        var cluster = Names.Cluster(request.Cluster);
        TaskState? desired = request.DesiredStatus switch
        {
            TaskStatus.Unspecified => null,
            TaskStatus.Running => TaskState.Running,
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
        var (subscription, existing) = state.Watch(filter, request.IncludeExisting);
        using (subscription)
        {
            foreach (var task in existing)
            {
                await responseStream.WriteAsync(new TaskEvent { Task = Map(task), Existing = true }, context.CancellationToken);
            }

            try
            {
                await foreach (var task in subscription.Reader.ReadAllAsync(context.CancellationToken))
                {
                    await responseStream.WriteAsync(new TaskEvent { Task = Map(task) }, context.CancellationToken);
                }
            }
            catch (WatcherTooSlowException e)
            {
                throw new RpcException(new Status(StatusCode.ResourceExhausted, e.Message));
            }
            catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
            {
                // The watcher went away.
            }
        }
    }

    private Contracts.V1.Task Map(Domain.TaskRecord task) => TaskMapper.ToContract(task, state.IsNodeConnected(task.Cluster, task.Node));

    /// <summary>Task ids are 32 hex digits; anything else cannot name a task.</summary>
    private static string TaskId(string value, string field)
    {
        if (value.Length == 0)
        {
            throw RequestException.Invalid(field, "task id is required");
        }

        if (value.Length != 32 || !value.All(char.IsAsciiHexDigitLower))
        {
            throw RequestException.Invalid(field, $"\"{Names.Clip(value)}\" is not a task id (32 lowercase hex digits)");
        }

        return value;
    }
}
