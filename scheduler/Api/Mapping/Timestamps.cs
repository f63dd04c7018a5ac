using Google.Protobuf.WellKnownTypes;

namespace Orchestrator.Scheduler.Api.Mapping;

internal static class Timestamps
{
    public static Timestamp? From(DateTimeOffset? value) => value is { } v ? Timestamp.FromDateTimeOffset(v) : null;
}
