using Google.Protobuf;

namespace Orchestrator.Cli.Input;

/// <summary>
/// --cli-input-json and taskdef register -f: the API request as JSON (the same as grpcurl -d takes),
/// from a file or "-" for standard input. Unknown fields are refused, so a typo is not silently dropped.
/// </summary>
internal static class RequestInput
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

    public static T Load<T>(string path, Stream stdin, string flag)
        where T : IMessage<T>, new()
    {
        string text;
        try
        {
            text = path == "-" ? new StreamReader(stdin).ReadToEnd() : File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"{flag} {path}: {e.Message}");
        }

        var source = path == "-" ? "standard input" : path;
        try
        {
            return Parser.Parse<T>(text);
        }
        catch (InvalidJsonException e)
        {
            throw new CliException($"{flag} {source}: not JSON: {OneLine(e.Message)}");
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new CliException($"{flag} {source}: not a {typeof(T).Name}: {OneLine(e.Message)}");
        }
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
