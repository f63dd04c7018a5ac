namespace Orchestrator.Scheduler.State;

/// <summary>One validated attribute of a PutAttributes or DeleteAttributes request.</summary>
/// <param name="Field">Where it was in the request ("attributes[2]"), for errors about it.</param>
internal sealed record AttributeChange(string Field, string Node, string Name, string Value);

/// <summary>One attribute of one node, as ListAttributes answers it.</summary>
internal sealed record NodeAttribute(string Node, string Name, string Value);
