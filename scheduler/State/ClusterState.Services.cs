using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.LoadBalancing;
using Orchestrator.Scheduler.Placement;
using Orchestrator.Scheduler.Services;
using Orchestrator.Scheduler.Storage;
using Orchestrator.Scheduler.Telemetry;

namespace Orchestrator.Scheduler.State;

/// <summary>Services: their records, and the reconcile pass that keeps their tasks as desired.</summary>
internal sealed partial class ClusterState
{
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

            // An EXTERNAL service may have no task definition of its own: its task sets bring theirs.
            var taskDefinition = definition.External && definition.TaskDefinition.Length == 0 ? null : RequireRunnable(definition.TaskDefinition);
            if (definition.Overrides is not null && taskDefinition is not null)
            {
                _ = OverrideValidator.DemandOf(definition.Overrides, taskDefinition); // refuses what does not fit the definition
            }

            var loadBalancers = definition.LoadBalancers ?? [];
            LoadBalancerValidator.RequireFit(loadBalancers, _targetGroups.ContainsKey, taskDefinition);

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
                LoadBalancers = loadBalancers,
                External = definition.External,
                // EXTERNAL: no deployment of its own; its task sets are its deployments.
                Deployments = definition.External ? [] : [ServiceDeployments.New(taskDefinition!.Record.Arn, definition.Overrides, now)],
                CreatedAt = now,
            }.WithEvent(now, definition.External
                ? $"service {definition.Name} created with {definition.DesiredCount} desired tasks and the EXTERNAL deployment controller: its task sets start its tasks"
                : $"service {definition.Name} created with {definition.DesiredCount} desired tasks of {taskDefinition!.Record.Arn}");

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
            if (service.External)
            {
                RequireNoDeployment(update);
            }

            // Overrides are the deployment's, as the task definition is: changing them rolls out anew.
            var overrides = service.External ? null : update.Overrides ?? (update.ResetOverrides ? null : service.Primary.Overrides);
            var overridesChange = !service.External && !TaskOverrides.Same(overrides, service.Primary.Overrides);
            if (!service.External && (update.TaskDefinition is not null || overridesChange || update.ForceNewDeployment))
            {
                string arn;
                if (update.TaskDefinition is null)
                {
                    arn = service.Primary.TaskDefinitionArn;
                }
                else
                {
                    var next = RequireRunnable(update.TaskDefinition);
                    LoadBalancerValidator.RequireFit(service.LoadBalancers, next);
                    arn = next.Record.Arn;
                }

                if (overrides is not null)
                {
                    // Before anything is committed; kept overrides too, which a new definition may not fit.
                    _ = OverrideValidator.DemandOf(overrides, Resolve(arn, "taskDefinition"));
                }

                var older = updated.Deployments.Select(d => d with { Status = DeploymentStatus.Active, UpdatedAt = now });
                updated = updated with { Deployments = [ServiceDeployments.New(arn, overrides, now), .. older], ConsecutiveFailures = 0, NextStartAt = null };
                updated = updated.WithEvent(now, overridesChange
                    ? $"service {service.Name} started a deployment of {arn} with {(overrides is null ? "no overrides" : "new overrides")}"
                    : $"service {service.Name} started a deployment of {arn}");
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

    /// <summary>An EXTERNAL service deploys through its task sets: UpdateService starts no deployment of it.</summary>
    private static void RequireNoDeployment(ServiceUpdate update)
    {
        var field = update.TaskDefinition is not null ? "taskDefinition"
            : update.Overrides is not null || update.ResetOverrides ? "overrides"
            : update.ForceNewDeployment ? "forceNewDeployment"
            : null;
        if (field is not null)
        {
            throw RequestException.Precondition(field,
                $"service \"{update.Name}\" has the EXTERNAL deployment controller: it deploys through its task sets; use task sets (CreateTaskSet, UpdateServicePrimaryTaskSet) instead");
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

    /// <summary>
    /// Gathers what the service controller needs, places what it decides to start (over the snapshot,
    /// one placement after another) and commits the outcome in one batch. The policy is all in
    /// <see cref="ServiceController"/>.
    /// </summary>
    private void ReconcileLocked(ServiceRecord service, DateTimeOffset now)
    {
        var tasks = TasksOf(service);
        var live = tasks.Where(ServiceController.IsLive).Select(t => ViewOf(t, service, now)).ToList();
        var decision = ServiceController.Decide(service, tasks, live, service.Daemon && !service.External ? DaemonTargetsOf(service) : null, now);

        var batch = new WriteBatch();
        batch.Tasks.AddRange(decision.FailuresCounted);
        foreach (var stop in decision.Stops)
        {
            batch.Tasks.Add(Stopping(_tasks[stop.TaskId], TaskStopCode.ServiceSchedulerInitiated, stop.Reason, now));
        }

        var updated = decision.Service;
        var started = new List<TaskRecord>();
        if (decision.Starts.Count > 0)
        {
            // Once per pass and deployment, not per placement: a DAEMON pass places node by node.
            var runs = new Dictionary<string, ServiceRun>(StringComparer.Ordinal);
            foreach (var start in decision.Starts)
            {
                var deployment = start.Deployment is null ? updated.Primary : TaskSets.Find(updated, start.Deployment)
                    ?? throw new InvalidOperationException($"service {updated.Name} has no deployment {start.Deployment} to start tasks of");
                if (!runs.TryGetValue(deployment.Id, out var run))
                {
                    run = runs[deployment.Id] = RunOf(deployment);
                }

                var failed = PlaceServiceTasks(updated, run, start, deployment.Id, now, started);
                var told = updated.Events.FirstOrDefault();
                updated = ServiceController.Placed(updated, failed, now);
                if (failed.Count > 0 && updated.Events.FirstOrDefault() != told)
                {
                    // Said once, as the service's own event is: a pass that fails alike again adds none.
                    batch.Events.Add(UnableToPlace(updated, failed, deployment.Id));
                }
            }
        }

        if (decision.Remove)
        {
            batch.DeletedServices.Add(service.Key);
        }
        else if (updated != service)
        {
            batch.Services.Add(updated);
        }

        batch.Tasks.AddRange(started);
        if (batch.IsEmpty)
        {
            return;
        }

        Commit(batch); // the starts and stops go to the agents from the changes (AgentDispatcher)
    }

    /// <summary>
    /// A deployment's (the primary's, or a task set's) definition, and what one of its tasks reserves:
    /// the definition's demand with the sizes of the deployment's overrides (checked when the deployment
    /// was made; a revision never changes, so they still fit).
    /// </summary>
    private ServiceRun RunOf(DeploymentRecord deployment)
    {
        var definition = Resolve(deployment.TaskDefinitionArn, "taskDefinition");
        var overrides = deployment.Overrides;
        return new ServiceRun(definition, overrides is null ? definition.Record.Demand : OverrideValidator.DemandOf(overrides, definition), overrides);
    }

    /// <summary>Places new tasks of a deployment (the primary, or a task set); returns what could not be placed.</summary>
    private IReadOnlyList<PlacementFailure> PlaceServiceTasks(ServiceRecord service, ServiceRun run, ServiceStart start, string deploymentId, DateTimeOffset now, List<TaskRecord> started)
    {
        var definition = run.Definition;
        var pins = PinSecrets(definition);
        if (!pins.Placeable)
        {
            // The service's event says it: "unable to place 2 tasks (MISSING): containerDefinitions[0]...".
            return SecretFailures(pins, start.Count);
        }

        var constraints = definition.ConstraintsWith(ServicePlacement.ConstraintsOf(service));
        var request = new PlacementRequest(
            run.Demand,
            start.Count,
            ServicePlacement.StrategiesOf(service),
            start.Node is null ? constraints : [.. constraints, ServicePlacement.OnNode(start.Node)],
            service.Group,
            definition.Policy,
            definition.DockerOnly);
        var placing = SchedulerMeter.Now();
        var result = PlacementEngine.Place(request, SnapshotOf(service.Cluster), _seeds.Next());
        _meter.Placed(placing, result);
        var tags = service.PropagateTags switch
        {
            TagPropagation.Service => service.Tags,
            TagPropagation.TaskDefinition => definition.Record.Tags,
            _ => Tags.None,
        };
        foreach (var decision in result.Placed)
        {
            started.Add(NewTask(service.Cluster, service.Group, definition, run.Demand, service.Group, decision, now, service.Name, deploymentId) with
            {
                Tags = tags,
                Overrides = run.Overrides,
                SecretVersions = pins.Versions,
            });
        }

        return result.Failed;
    }

    private ClusterEventRecord UnableToPlace(ServiceRecord service, IReadOnlyList<PlacementFailure> failed, string deploymentId) =>
        PendingEvent(service.Cluster, ClusterEventType.UnableToPlace, $"service {service.Name} is unable to place {failed.Count} tasks") with
        {
            Service = service.Name,
            Deployment = deploymentId,
            Reasons = [.. failed.GroupBy(f => (f.Reason, f.Detail)).Select(g => $"{g.Key.Reason} ({g.Count()}): {g.Key.Detail}")],
        };

    private DaemonTargets DaemonTargetsOf(ServiceRecord service)
    {
        var (wanted, startable) = DaemonNodes(service);
        return new DaemonTargets(wanted, startable);
    }

    /// <summary>
    /// The nodes a DAEMON service should run on, and those it can start on now. Wanted is decided by
    /// placement's own node filter pass (the node ACTIVE, every constraint whose filter the node alone
    /// decides), so the service wants exactly the nodes its placement would accept; an agent away for a
    /// moment does not make its node unwanted, only not startable. Constraints that count the tasks
    /// already placed (distinctInstance) do not narrow the set: a DAEMON runs one task per node anyway.
    /// The primary deployment's definition adds its constraints and what it needs of the node's policy.
    /// </summary>
    private (IReadOnlySet<string> Wanted, IReadOnlySet<string> Startable) DaemonNodes(ServiceRecord service)
    {
        var definition = Resolve(service.Primary.TaskDefinitionArn, "taskDefinition");
        var pass = new NodeFilterPass(definition.ConstraintsWith(ServicePlacement.ConstraintsOf(service)), definition.Policy, definition.DockerOnly);
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

    private ServiceTaskView ViewOf(TaskRecord task, ServiceRecord service, DateTimeOffset now)
    {
        var draining = _nodes.TryGetValue(NodeRecord.KeyOf(task.Cluster, task.Node), out var node) && node.Record.Status != NodeState.Active;
        var checkedHealth = _families.TryGetValue(task.Family, out var family) && family.Revisions.TryGetValue(task.Revision, out var definition)
            && definition.Spec.ContainerDefinitions.Any(c => (!c.HasEssential || c.Essential) && c.HealthCheck is { Command.Count: > 0 });
        var healthy = task.LastStatus == TaskState.Running && (checkedHealth ? task.Health == HealthState.Healthy : task.Health != HealthState.Unhealthy);
        var (balancedHealthy, failedGroup) = BalancerHealthOf(task, service);
        var freeCpu = node is null ? 0 : node.Record.TotalCpu - node.Usage.Cpu;
        var freeMemory = node is null ? 0 : node.Record.TotalMemory - node.Usage.Memory;
        // Waiting for the balancers' word only where they were given the task (a serving target).
        var awaitingBalancer = healthy && !balancedHealthy && failedGroup is null
            && service.LoadBalancers.Any(l => TargetsBuilder.IsServingTarget(BalancedLocked(task), l, now));
        return new ServiceTaskView(task, draining, healthy && balancedHealthy, freeCpu, freeMemory, task.IsProtected(now), failedGroup, awaitingBalancer);
    }

    /// <summary>
    /// What the balancers say of a task of a service with load balancers (<see cref="BalancerHealth.Of"/>).
    /// A scheduler without balancer verdicts (no balancer component) gates nothing.
    /// </summary>
    private (bool Healthy, string? FailedGroup) BalancerHealthOf(TaskRecord task, ServiceRecord service) =>
        service.LoadBalancers.Count == 0 || _targetHealth is not { } health
            ? (true, null)
            : BalancerHealth.Of(service.LoadBalancers, task, group => health.Of(group, task.Id));

    private ServiceView ViewOf(ServiceRecord service)
    {
        var live = TasksOf(service).Where(t => t.LastStatus != TaskState.Stopped).ToList();
        var perDeployment = live.GroupBy(t => t.Deployment).ToDictionary(
            g => g.Key,
            g => (g.Count(t => t.LastStatus == TaskState.Running), g.Count(t => t.LastStatus is TaskState.Provisioning or TaskState.Pending)));
        // For task sets' stability: the healthy ones of each, among those desired RUNNING.
        IReadOnlyDictionary<string, int>? healthy = null;
        if (service.External)
        {
            var now = Now;
            healthy = live.Where(ServiceController.IsLive).GroupBy(t => t.Deployment).ToDictionary(g => g.Key, g => g.Count(t => ViewOf(t, service, now).Healthy), StringComparer.Ordinal);
        }

        return new ServiceView(service, live.Count(t => t.LastStatus == TaskState.Running), live.Count(t => t.LastStatus is TaskState.Provisioning or TaskState.Pending), perDeployment, healthy);
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
}
