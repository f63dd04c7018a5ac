using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Mapping;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>What a WatchEvents or ListEvents asks for, checked field by field.</summary>
internal static class EventQueryValidator
{
    /// <summary>The watch's filter, and where its replay starts: a sequence, a time, or neither (live only).</summary>
    public static (ClusterEventFilter Filter, long? SinceSequence, DateTimeOffset? Since) Watch(WatchEventsRequest request, DateTimeOffset now)
    {
        var filter = Filter(request.Cluster, request.EventTypes, request.Node, request.Service);
        if (request.SinceSequence < 0)
        {
            throw RequestException.Invalid("sinceSequence", $"must be 0 or more, not {request.SinceSequence}");
        }

        if (request.SinceSequence > 0 && request.Since is not null)
        {
            throw RequestException.Invalid("since", "give sinceSequence or since, not both");
        }

        var since = Time(request.Since, "since");
        if (since > now)
        {
            throw RequestException.Invalid("since", $"{since:O} is in the future (now is {now:O})");
        }

        return (filter, request.SinceSequence > 0 ? request.SinceSequence : null, since);
    }

    public static (ClusterEventFilter Filter, DateTimeOffset? Start, DateTimeOffset? End) List(ListEventsRequest request)
    {
        var filter = Filter(request.Cluster, request.EventTypes, request.Node, request.Service);
        var start = Time(request.StartTime, "startTime");
        var end = Time(request.EndTime, "endTime");
        if (start is not null && end is not null && end < start)
        {
            throw RequestException.Invalid("endTime", $"{end:O} is before startTime {start:O}");
        }

        return (filter, start, end);
    }

    private static ClusterEventFilter Filter(string cluster, RepeatedField<EventType> types, string node, string service)
    {
        var wanted = new HashSet<ClusterEventType>();
        for (var i = 0; i < types.Count; i++)
        {
            wanted.Add(EventMapper.ToDomain(types[i]) ?? throw RequestException.Invalid($"eventTypes[{i}]", $"{WireName(types[i])} is not an event type to ask for"));
        }

        return new ClusterEventFilter(
            Names.Cluster(cluster),
            wanted,
            Names.Text(node, "node", Names.MaxLength),
            Names.Text(service, "service", Names.MaxLength));
    }

    /// <summary>The value as the proto names it ("EVENT_TYPE_UNSPECIFIED"), or its number when unknown.</summary>
    private static string WireName(EventType type) =>
        EventsReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.EnumDescriptor>("EventType").FindValueByNumber((int)type)?.Name ?? ((int)type).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static DateTimeOffset? Time(Timestamp? value, string field)
    {
        if (value is null)
        {
            return null;
        }

        // Timestamp's own range (years 1 to 9999, nanos below a second); ToDateTimeOffset throws outside it.
        if (value.Seconds is < -62135596800L or > 253402300799L || value.Nanos is < 0 or > 999_999_999)
        {
            throw RequestException.Invalid(field, "is not a valid timestamp");
        }

        return value.ToDateTimeOffset();
    }
}
