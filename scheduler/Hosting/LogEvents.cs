namespace Orchestrator.Scheduler.Hosting;

/// <summary>
/// Every event id the scheduler logs with, in one place so that no two messages share one (journald
/// and log pipelines filter on them). Hundreds by area: 1xx state, 2xx agents, 3xx security, 4xx hosting, 5xx high availability.
/// </summary>
internal static class LogEvents
{
    public const int StateLoaded = 100;
    public const int StateStoreWriteFailed = 101;
    public const int NodeRegistered = 102;
    public const int NodeDisconnected = 103;
    public const int TasksPruned = 104;
    public const int NodeSilent = 105;
    public const int NodeLost = 106;
    public const int StateLoadTime = 107;
    public const int DeregisteredNodeRefused = 108;
    public const int StoreLost = 109;

    public const int AgentSessionClosed = 200;
    public const int AgentStreamAborted = 201;
    public const int AgentStreamStopping = 202;
    public const int ReportsNotApplied = 203;
    public const int AgentStreamDeposed = 204;

    // Task sessions (logs, exec): never a command's arguments, its input or its output.
    public const int SessionJoinRefused = 210;
    public const int ExecSessionOpened = 211;
    public const int ExecSessionEnded = 212;

    public const int CallRefused = 300;
    public const int JoinTokenRotated = 301;
    public const int AgentCallRefused = 302;
    public const int NodeJoined = 303;
    public const int NodeCertificateRenewed = 304;
    public const int JoinRefused = 305;
    public const int JoinTokenCreated = 306;
    public const int AdminTokenCreated = 307;

    // Secrets: their names and versions, never a value.
    public const int SecretPut = 320;
    public const int SecretDeleted = 321;
    public const int SecretGone = 322;
    public const int SecretUnreadable = 323;
    public const int SecretsSealedWithAnotherKey = 324;
    public const int SecretVersionsPruned = 325;

    public const int StreamsEnded = 400;
    public const int StreamsAborted = 401;

    // High availability (several schedulers on etcd): addresses and reasons, never key material.
    public const int LeaderElected = 500;
    public const int LeadershipLost = 501;
    public const int LeaderObserved = 502;
    public const int LeadershipEtcdUnreachable = 503;
    public const int LeadershipEtcdReachable = 504;
    public const int LeadershipReleaseFailed = 505;
    public const int LeadershipStaleElection = 506;
    public const int SecurityMaterialDownloaded = 510;
    public const int SecurityMaterialUploaded = 511;
    public const int SecurityMaterialReplaced = 512;

    // A standby following the leader's commits, taking over; a deposed leader restarting.
    public const int StandbyCaughtUp = 520;
    public const int TookOver = 521;
    public const int ReplicationBroken = 522;
    public const int DeposedWritesNothing = 523;
    public const int FollowingStopped = 524;
    public const int DeposedRestarting = 525;
    public const int EtcdCompacted = 526;
    public const int EtcdCompactionFailed = 527;

    // A standby forwarding the public API to the leader.
    public const int CallForwarded = 540;

    // Load balancing: the balancers' streams (names and target group counts, never a token).
    public const int BalancerConnected = 600;
    public const int BalancerDisconnected = 601;
    public const int BalancerReplaced = 602;
    public const int BalancerStreamAborted = 603;
    public const int BalancerStreamDeposed = 604;
    public const int EndpointWatchEnded = 605;

    // Draining: stops held while a task's targets drain, and released.
    public const int DrainsReleased = 640;
}
