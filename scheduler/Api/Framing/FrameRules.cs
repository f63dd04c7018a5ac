namespace Orchestrator.Scheduler.Api.Framing;

/// <summary>What the frames of one call's request body may be.</summary>
/// <param name="Method">The call, for messages: <c>orchestrator.v1.ClusterService/ListClusters</c>.</param>
/// <param name="OneMessage">Unary and server-streaming calls take exactly one request message.</param>
/// <param name="Compressed">The call names a grpc-encoding other than identity, so a frame may be compressed.</param>
/// <param name="MaxMessageBytes">The largest message a frame may announce.</param>
internal sealed record FrameRules(string Method, bool OneMessage, bool Compressed, int MaxMessageBytes);
