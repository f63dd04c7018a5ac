using System.Text.RegularExpressions;

namespace Orchestrator.Agent.Runtime.Containerd.Images;

/// <summary>
/// An image reference split as Docker's distribution/reference does: "busybox" is docker.io's
/// "library/busybox" at tag "latest". Domain and path are what the registry is asked for; the
/// <see cref="Name"/> is what containerd (and ctr, nerdctl) store the image under.
/// </summary>
/// <param name="Domain">The registry host, with its port where given ("docker.io", "localhost:5000").</param>
/// <param name="Path">The repository within the registry ("library/busybox").</param>
/// <param name="Tag">The tag; "latest" where neither tag nor digest was given, null with a digest alone.</param>
/// <param name="Digest">The manifest's digest ("sha256:..."), null where not given.</param>
internal sealed partial record ImageReference(string Domain, string Path, string? Tag, string? Digest)
{
    public const string DockerHub = "docker.io";

    private const int MaxNameLength = 255;

    /// <summary>The normalised name: "docker.io/library/busybox:latest", "registry:5000/x/y@sha256:...".</summary>
    public string Name => $"{Domain}/{Path}{(Tag is null ? "" : ":" + Tag)}{(Digest is null ? "" : "@" + Digest)}";

    /// <summary>The tag or digest the registry's manifest endpoint is asked for (the digest where both are given).</summary>
    public string ManifestReference => Digest ?? Tag ?? "latest";

    /// <summary>Parses and normalises a reference.</summary>
    /// <exception cref="FormatException">It is not a valid reference; the message says why.</exception>
    public static ImageReference Parse(string reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (reference.Length == 0 || reference.Trim() != reference)
        {
            throw new FormatException("invalid reference format");
        }

        var rest = reference;
        string? digest = null;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = rest[(at + 1)..];
            rest = rest[..at];
            if (!DigestPattern().IsMatch(digest))
            {
                throw new FormatException("invalid digest format");
            }
        }

        string? tag = null;
        var colon = rest.LastIndexOf(':');
        if (colon > rest.LastIndexOf('/'))
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!TagPattern().IsMatch(tag))
            {
                throw new FormatException("invalid tag format");
            }
        }

        // Docker's rule: the first component is a registry only where it looks like a host (a dot, a
        // port, "localhost" or upper case letters, which a repository cannot have); else it is Docker Hub.
        string domain, path;
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || (rest[..slash].IndexOfAny(['.', ':']) < 0 && rest[..slash] != "localhost" && rest[..slash].ToLowerInvariant() == rest[..slash]))
        {
            domain = DockerHub;
            path = rest;
        }
        else
        {
            domain = rest[..slash];
            path = rest[(slash + 1)..];
        }

        if (domain == "index.docker.io")
        {
            domain = DockerHub;
        }

        if (domain == DockerHub && !path.Contains('/', StringComparison.Ordinal))
        {
            path = "library/" + path;
        }

        if (!DomainPattern().IsMatch(domain))
        {
            throw new FormatException("invalid registry host");
        }

        if (path.Any(char.IsUpper))
        {
            throw new FormatException("repository name must be lowercase");
        }

        if (!PathPattern().IsMatch(path))
        {
            throw new FormatException("invalid repository name");
        }

        if (domain.Length + 1 + path.Length > MaxNameLength)
        {
            throw new FormatException($"repository name must not be more than {MaxNameLength} characters");
        }

        return new ImageReference(domain, path, tag ?? (digest is null ? "latest" : null), digest);
    }

    // The grammar of github.com/distribution/reference (regexp.go).
    [GeneratedRegex(@"^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$|^\[[a-fA-F0-9:]+\](?::[0-9]+)?$")]
    private static partial Regex DomainPattern();

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*$")]
    private static partial Regex PathPattern();

    [GeneratedRegex(@"^[\w][\w.-]{0,127}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")]
    private static partial Regex DigestPattern();
}
