namespace Orchestrator.Scheduler.Security;

/// <summary>Files that hold secrets (keys, tokens): written owner-only (mode 0600), replaced whole.</summary>
internal static class SecretFiles
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static void Write(string path, string content) => WriteFile(path, content, OwnerOnly);

    /// <summary>Public material (certificates): readable by others, so clients can trust the CA file.</summary>
    public static void WritePublic(string path, string content) =>
        WriteFile(path, content, OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

    private static void WriteFile(string path, string content, UnixFileMode mode)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = path + ".new";
        File.Delete(temporary);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }

        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }
}
