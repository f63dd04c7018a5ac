namespace Orchestrator.Agent.Runtime.Containerd.Oci;

/// <summary>One container's OCI runtime spec (config.json) as JSON, from the task's spec and its image's config. A pure function. (helper B)</summary>
internal static class OciSpecBuilder
{
    /// <summary>The spec's JSON, root.path "rootfs" (containerd mounts the snapshot there).</summary>
    public static string Build(OciSpecInput input) => throw new NotImplementedException(input.Spec.Name);
}
