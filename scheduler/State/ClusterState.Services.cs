using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.Services;
using Orchestrator.Scheduler.Storage;

namespace Orchestrator.Scheduler.State;

/// <summary>Services: their records, and the reconcile pass that keeps their tasks as desired.</summary>
internal sealed partial class ClusterState
{
    private static readonly TimeSpan BackoffCap = TimeSpan.FromMinutes(5);

    public ServiceView CreateService(ServiceDefinition definition)
    {
        lock (_gate)
        {
            RequireCluster(definition.Cluster);
            var key = ServiceRecord.KeyOf(definition.Cluster, definition.Name);
            if (_services.ContainsKey(key))
            {
                throw RequestException.Exists("serviceName", $"service \"{definition.Name}\" already exists in cluster \"{definition.Cluster}\"");
            }

            var taskDefinition = RequireRunnable(definition.TaskDefinition);
            var now = Now;
            var service = new ServiceRecord
            {
                Cluster = definition.Cluster,
                Name = definition.Name,
                DesiredCount = definition.DesiredCount,
                Strategies = definition.Strategies,
                Constraints = definition.Constraints,
                MinimumHealthyPercent = definition.MinimumHealthyPercent,
                MaximumPercent = definition.MaximumPercent,
                HealthCheckGracePeriodSeconds = definition.HealthCheckGracePeriodSeconds,
                CircuitBreaker = definition.CircuitBreaker,
                Rollback = definition.Rollback,
                Daemon = definition.Daemon,
                Tags = definition.Tags ?? Tags.None,
                PropagateTags = definition.PropagateTags,
                Deployments = [NewDeployment(taskDefinition.Record.Arn, now)],
                CreatedAt = now,
            }.WithEvent(now, $"service {definition.Name} created with {definition.DesiredCount} desired tasks of {taskDefinition.Record.Arn}");

            var batch = new WriteBatch();
            batch.Services.Add(service);
            Commit(batch);
            ReconcileLocked(_services[key], now);
            return ViewOf(_services[key]);
        }
    }

    public ServiceView UpdateService(ServiceUpdate update)
    {
        lock (_gate)
        {
            var service = RequireService(update.Cluster, update.Name);
            if (service.Deleting)
            {
                throw RequestException.Precondition("service", $"service \"{update.Name}\" is being deleted");
            }

            var now = Now;
            var updated = service with
            {
                DesiredCount = update.DesiredCount ?? service.DesiredCount,
                MinimumHealthyPercent = update.MinimumHealthyPercent ?? service.MinimumHealthyPercent,
                MaximumPercent = update.MaximumPercent ?? service.MaximumPercent,
                CircuitBreaker = update.CircuitBreaker ?? service.CircuitBreaker,
                Rollback = update.Rollback ?? service.Rollback,
                Strategies = update.Strategies ?? service.Strategies,
                Constraints = update.Constraints ?? service.Constraints,
                PropagateTags = update.PropagateTags ?? service.PropagateTags,
            };
            if (service.Daemon && updated.Strategies.Count > 0)
            {
                throw RequestException.Invalid("placementStrategy", "a DAEMON service takes no placement strategy");
            }
            if (update.TaskDefinition is not null || update.ForceNewDeployment)
            {
                var arn = update.TaskDefinition is null ? service.Primary.TaskDefinitionArn : RequireRunnable(update.TaskDefinition).Record.Arn;
                var older = updated.Deployments.Select(d => d with { Status = DeploymentStatus.Active, UpdatedAt = now });
                updated = updated with { Deployments = [NewDeployment(arn, now), .. older], ConsecutiveFailures = 0, NextStartAt = null };
                updated = updated.WithEvent(now, $"service {service.Name} started a deployment of {arn}");
            }

            if (updated.DesiredCount != service.DesiredCount)
            {
                updated = updated.WithEvent(now, $"service {service.Name} desired count changed from {service.DesiredCount} to {updated.DesiredCount}");
            }

            var batch = new WriteBatch();
            batch.Services.Add(updated);
            Commit(batch);
            ReconcileLocked(_services[service.Key], now);
            return ViewOf(_services[service.Key]);
        }
    }

    /// <summary>
    /// Refused while the service wants tasks, unless forced: then it is scaled to zero and removed once
    /// its tasks have stopped.
    /// </summary>
    public ServiceView DeleteService(string cluster, string name, bool force)
    {
        lock (_gate)
        {
            var service = RequireService(cluster, name);
            if (service.DesiredCount > 0 && !force)
            {
                throw RequestException.Precondition("service", $"service \"{name}\" still wants {service.DesiredCount} tasks; scale it to 0 first, or delete with force");
            }

            var now = Now;
            var batch = new WriteBatch();
            batch.Services.Add(service with { Deleting = true, DesiredCount = 0 });
            Commit(batch);
            var view = ViewOf(_services[service.Key]);
            ReconcileLocked(_services[service.Key], now);
            return view;
        }
    }

    public ServiceView? DescribeService(string cluster, string name)
    {
        lock (_gate)
        {
            RequireCluster(cluster);
            return _services.TryGetValue(ServiceRecord.KeyOf(cluster, name), out var service) ? ViewOf(service) : null;
        }
    }

    /// <param name="daemon">Only DAEMON services (true) or only REPLICA ones (false); null for both.</param>
    public IReadOnlyList<string> ListServices(string cluster, bool? daemon = null)
    {
        lock (_gate)
        {
            RequireCluster(cluster);
            return [.. _services.Values.Where(s => s.Cluster == cluster && (daemon is null || s.Daemon == daemon)).Select(s => s.Name).Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>One pass over every service. Runs on a timer and after every change a service cares about.</summary>
    public void ReconcileServices()
    {
        lock (_gate)
        {
            var now = Now;
            foreach (var service in _services.Values.ToList())
            {
                ReconcileLocked(service, now);
            }
        }
    }

    private void ReconcileLocked(ServiceRecord service, DateTimeOffset now)
    {
        var tasks = TasksOf(service);
        var batch = new WriteBatch();
        var updated = TripCircuitBreaker(CountFailures(service, tasks, now, batch), now);
        if (updated.Primary.Rollout == RolloutState.Failed)
        {
            // Tripped without rollback: hold what runs, start nothing, until the user updates the service.
            if (updated != service || !batch.IsEmpty)
            {
                batch.Services.Add(updated);
                Commit(batch);
            }

            return;
        }

        var live = tasks.Where(t => t.DesiredStatus == TaskState.Running && t.LastStatus != TaskState.Stopped).Select(t => ViewOf(t, now)).ToList();
        var stopping = tasks.Count(t => t.DesiredStatus == TaskState.Stopped && t.LastStatus != TaskState.Stopped);
        ReconcilePlan plan;
        if (updated.Daemon)
        {
            var (wanted, startable) = DaemonNodes(updated);
            plan = DaemonReconciler.Plan(updated, live, wanted, startable);
            if (updated.DesiredCount != wanted.Count)
            {
                updated = updated with { DesiredCount = wanted.Count };
            }
        }
        else
        {
            plan = ServiceReconciler.Plan(updated, live, now, stopping);
        }

        foreach (var stop in plan.Stops)
        {
            batch.Tasks.Add(Stopping(_tasks[stop.TaskId], TaskStopCode.ServiceSchedulerInitiated, stop.Reason, now));
        }

        var started = new List<(TaskRecord Task, TaskDefinitionEntry Definition)>();
        if (plan.StartOnNodes.Count > 0)
        {
            foreach (var node in plan.StartOnNodes)
            {
                updated = StartServiceTasks(updated, 1, now, started, node);
            }
        }
        else if (plan.Start > 0)
        {
            updated = StartServiceTasks(updated, plan.Start, now, started);
        }

        if (plan.RolloutComplete && updated.Primary.Rollout == RolloutState.InProgress)
        {
            updated = updated with
            {
                Deployments = [updated.Primary with { Rollout = RolloutState.Completed, RolloutReason = "deployment completed", UpdatedAt = now }],
                ConsecutiveFailures = 0,
                NextStartAt = null,
            };
            updated = updated.WithEvent(now, $"service {service.Name} has reached a steady state");
        }

        if (updated.Deleting && live.Count == 0 && started.Count == 0)
        {
            batch.DeletedServices.Add(service.Key);
        }
        else if (updated != service)
        {
            batch.Services.Add(updated);
        }

        batch.Tasks.AddRange(started.Select(s => s.Task));
        if (batch.IsEmpty)
        {
            return;
        }

        Commit(batch); // the starts and stops go to the agents from the changes (AgentDispatcher)
    }

    /// <summary>Places new tasks of the primary deployment, unless a failure backoff is still running.</summary>
    /// <param name="onNode">For DAEMON services: the one node to place on.</param>
    private ServiceRecord StartServiceTasks(ServiceRecord service, int count, DateTimeOffset now, List<(TaskRecord, TaskDefinitionEntry)> started, string? onNode = null)
    {
        if (service.NextStartAt is { } notBefore && now < notBefore)
        {
            return WithNewEvent(service, now, $"service {service.Name} is waiting until {notBefore:HH:mm:ss} before starting tasks again, after {service.ConsecutiveFailures} failed in a row");
        }

        var definition = Resolve(service.Primary.TaskDefinitionArn, "taskDefinition");
        var request = new PlacementRequest(
            definition.Record.Demand,
            count,
            ServicePlacement.StrategiesOf(service),
            onNode is null ? ServicePlacement.ConstraintsOf(service) : [.. ServicePlacement.ConstraintsOf(service), ServicePlacement.OnNode(onNode)],
            service.Group);
        var result = PlacementEngine.Place(request, SnapshotOf(service.Cluster), _seeds.Next());
        var tags = service.PropagateTags switch
        {
            TagPropagation.Service => service.Tags,
            TagPropagation.TaskDefinition => definition.Record.Tags,
            _ => Tags.None,
        };
        foreach (var decision in result.Placed)
        {
            var task = NewTask(service.Cluster, service.Group, definition, service.Group, decision, now, service.Name, service.Primary.Id) with { Tags = tags };
            started.Add((task, definition));
        }

        if (result.Failed.Count > 0)
        {
            var failure = result.Failed[0];
            service = WithNewEvent(service, now, $"service {service.Name} is unable to place {result.Failed.Count} tasks ({failure.Reason}): {failure.Detail}");
        }

        return service;
    }

    /// <summary>
    /// Tasks that failed and were not counted yet: counted per deployment (and marked, in the same
    /// batch), and they start or extend the backoff.
    /// </summary>
    private static ServiceRecord CountFailures(ServiceRecord service, IReadOnlyList<TaskRecord> tasks, DateTimeOffset now, WriteBatch batch)
    {
        // Only this service's own deployments: an older service of the same name left its tasks behind.
        var failed = tasks.Where(t => t.LastStatus == TaskState.Stopped && !t.FailureCounted
            && t.StopCode is TaskStopCode.TaskFailedToStart or TaskStopCode.EssentialContainerExited
            && service.Deployments.Any(d => d.Id == t.Deployment)).ToList();
        batch.Tasks.AddRange(failed.Select(t => t with { FailureCounted = true }));
        // A task that started after the backoff and runs: the failures in a row are over.
        var healthyNow = service.NextStartAt is { } backoffEnd && tasks.Any(t => t.Deployment == service.Primary.Id
            && t.LastStatus == TaskState.Running && t.Health != HealthState.Unhealthy && t.StartedAt >= backoffEnd);
        if (failed.Count == 0)
        {
            return healthyNow && service.ConsecutiveFailures > 0 ? service with { ConsecutiveFailures = 0, NextStartAt = null } : service;
        }

        var consecutive = service.ConsecutiveFailures + failed.Count;
        var delay = TimeSpan.FromSeconds(Math.Min(BackoffCap.TotalSeconds, Math.Pow(2, Math.Min(consecutive - 1, 20))));
        var deployments = service.Deployments.Select(d => d with { FailedTasks = d.FailedTasks + failed.Count(t => t.Deployment == d.Id) }).ToList();
        var updated = service with { Deployments = deployments, ConsecutiveFailures = consecutive, NextStartAt = now + delay };
        return updated.WithEvent(now, $"service {service.Name}: {failed.Count} task(s) stopped ({failed[0].StoppedReason}); next start in {delay.TotalSeconds:0} s");
    }

    /// <summary>
    /// The nodes a DAEMON service should run on, and those it can start on now. Wanted is decided by
    /// placement's own node filter pass (the node ACTIVE, every constraint whose filter the node alone
    /// decides), so the service wants exactly the nodes its placement would accept; an agent away for a
    /// moment does not make its node unwanted, only not startable. Constraints that count the tasks
    /// already placed (distinctInstance) do not narrow the set: a DAEMON runs one task per node anyway.
    /// </summary>
    private (IReadOnlySet<string> Wanted, IReadOnlySet<string> Startable) DaemonNodes(ServiceRecord service)
    {
        var pass = new NodeFilterPass(ServicePlacement.ConstraintsOf(service));
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        var startable = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in NodesOf(service.Cluster).Values)
        {
            if (pass.FirstRejection(entry.Snapshot(), agentMayBeAway: true).Reason == RejectReason.None)
            {
                wanted.Add(entry.Record.Name);
                if (entry.Connected)
                {
                    startable.Add(entry.Record.Name);
                }
            }
        }

        return (wanted, startable);
    }

    /// <summary>
    /// A deployment in progress with as many failed tasks as the threshold is FAILED: it starts no more
    /// tasks, and with rollback the last completed deployment becomes the primary again.
    /// </summary>
    private static ServiceRecord TripCircuitBreaker(ServiceRecord service, DateTimeOffset now)
    {
        var primary = service.Primary;
        if (!service.CircuitBreaker || primary.Rollout != RolloutState.InProgress || primary.FailedTasks < service.FailureThreshold)
        {
            return service;
        }

        var reason = $"circuit breaker: {primary.FailedTasks} tasks failed (threshold {service.FailureThreshold})";
        var failed = primary with { Rollout = RolloutState.Failed, RolloutReason = reason, UpdatedAt = now };
        var previous = service.Deployments.Skip(1).FirstOrDefault(d => d.Rollout == RolloutState.Completed);
        if (!service.Rollback || previous is null)
        {
            return (service with { Deployments = [failed, .. service.Deployments.Skip(1)] })
                .WithEvent(now, $"service {service.Name} deployment {primary.Id} failed: {reason}");
        }

        var rollback = NewDeployment(previous.TaskDefinitionArn, now) with { RolloutReason = $"rolling back to {previous.TaskDefinitionArn}" };
        var older = service.Deployments.Skip(1).Select(d => d with { Status = DeploymentStatus.Active });
        return (service with
        {
            Deployments = [rollback, failed with { Status = DeploymentStatus.Active }, .. older],
            ConsecutiveFailures = 0,
            NextStartAt = null,
        }).WithEvent(now, $"service {service.Name} deployment {primary.Id} failed: {reason}; rolling back to {previous.TaskDefinitionArn}");
    }

    /// <summary>Adds an event unless it would repeat the newest one (a service waiting says so once).</summary>
    private static ServiceRecord WithNewEvent(ServiceRecord service, DateTimeOffset now, string message) =>
        service.Events.Count > 0 && service.Events[0].Message == message ? service : service.WithEvent(now, message);

    private ServiceTaskView ViewOf(TaskRecord task, DateTimeOffset now)
    {
        var draining = _nodes.TryGetValue(NodeRecord.KeyOf(task.Cluster, task.Node), out var node) && node.Record.Status != NodeState.Active;
        var checkedHealth = _families.TryGetValue(task.Family, out var family) && family.Revisions.TryGetValue(task.Revision, out var definition)
            && definition.Spec.ContainerDefinitions.Any(c => (!c.HasEssential || c.Essential) && c.HealthCheck is { Command.Count: > 0 });
        var healthy = task.LastStatus == TaskState.Running && (checkedHealth ? task.Health == HealthState.Healthy : task.Health != HealthState.Unhealthy);
        var freeCpu = node is null ? 0 : node.Record.TotalCpu - node.Usage.Cpu;
        var freeMemory = node is null ? 0 : node.Record.TotalMemory - node.Usage.Memory;
        return new ServiceTaskView(task, draining, healthy, freeCpu, freeMemory, task.IsProtected(now));
    }

    private ServiceView ViewOf(ServiceRecord service)
    {
        var live = TasksOf(service).Where(t => t.LastStatus != TaskState.Stopped).ToList();
        var perDeployment = live.GroupBy(t => t.Deployment).ToDictionary(
            g => g.Key,
            g => (g.Count(t => t.LastStatus == TaskState.Running), g.Count(t => t.LastStatus is TaskState.Provisioning or TaskState.Pending)));
        return new ServiceView(service, live.Count(t => t.LastStatus == TaskState.Running), live.Count(t => t.LastStatus is TaskState.Provisioning or TaskState.Pending), perDeployment);
    }

    private ServiceRecord RequireService(string cluster, string name)
    {
        RequireCluster(cluster);
        return _services.TryGetValue(ServiceRecord.KeyOf(cluster, name), out var service)
            ? service
            : throw RequestException.NotFound("service", $"service \"{name}\" does not exist in cluster \"{cluster}\"");
    }

    private TaskDefinitionEntry RequireRunnable(string reference)
    {
        var definition = Resolve(reference, "taskDefinition");
        return definition.Record.Active
            ? definition
            : throw RequestException.Precondition("taskDefinition", $"task definition \"{definition.Record.Arn}\" is INACTIVE; new tasks of it cannot run");
    }

    private static DeploymentRecord NewDeployment(string taskDefinitionArn, DateTimeOffset now) =>
        new($"ecs-svc/{Guid.NewGuid():N}"[..24], taskDefinitionArn, DeploymentStatus.Primary, RolloutState.InProgress, "deployment in progress", 0, now, now);
}
