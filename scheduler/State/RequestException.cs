using Orchestrator.Scheduler.Domain;

namespace Orchestrator.Scheduler.State;

internal enum RequestErrorKind
{
    InvalidArgument,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    Unavailable,
}

/// <summary>
/// A request the scheduler refuses, with the field it is about. The gRPC layer turns it into a status
/// whose message starts with the field, e.g. <c>containerDefinitions[1].memory: must be at least 6 MiB</c>.
/// Quoted values are <see cref="Echo.Clip"/>ped where they are quoted; the whole message is escaped
/// once more here, so that no message of a refusal, logged as every error status is, can carry a raw
/// newline or escape code even where a quote was missed.
/// </summary>
internal sealed class RequestException(RequestErrorKind kind, string field, string problem)
    : Exception(Echo.Escape(field.Length == 0 ? problem : $"{field}: {problem}"))
{
    public RequestErrorKind Kind { get; } = kind;
    public string Field { get; } = field;

    public static RequestException Invalid(string field, string problem) => new(RequestErrorKind.InvalidArgument, field, problem);
    public static RequestException NotFound(string field, string problem) => new(RequestErrorKind.NotFound, field, problem);
    public static RequestException Exists(string field, string problem) => new(RequestErrorKind.AlreadyExists, field, problem);
    public static RequestException Precondition(string field, string problem) => new(RequestErrorKind.FailedPrecondition, field, problem);
}
