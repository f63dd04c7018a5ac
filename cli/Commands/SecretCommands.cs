using System.CommandLine;
using System.Text;
using Google.Protobuf;
using Orchestrator.Contracts.V1;
using Task = System.Threading.Tasks.Task;
using static Orchestrator.Cli.CommandExtensions;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// orchestrator secret put|describe|ls|delete (SecretService). A value is read from a file or standard
/// input, never from the command line (which other users see in ps and shells keep in history), and
/// never printed: the API answers only what is known of it.
/// </summary>
internal static class SecretCommands
{
    public static readonly string[] Columns = ["name", "description", "latestVersion", "versions", "createdAt", "updatedAt"];

    public static Command Create(CliContext context, GlobalOptions options) =>
        new Command("secret", "Secrets that task definitions reference (values never shown)")
            .With(Put(context, options), Describe(context, options), List(context, options), Delete(context, options));

    private static Command Put(CliContext context, GlobalOptions options)
    {
        var name = new Argument<string?>("NAME") { Arity = ArgumentArity.ZeroOrOne, Description = "The secret's name" };
        var file = new Option<string?>("--value-file") { Description = "Read the value from FILE [default: standard input]", HelpName = "FILE" };
        var description = new Option<string?>("--description") { Description = "What it is (kept when omitted later)" };
        var binary = new Option<bool>("--binary") { Description = "Store the bytes as they are (binaryValue) rather than as UTF-8 text" };
        return Verb("put", "Creates a secret or gives it a new version; the value comes from --value-file or standard input, exactly as its bytes are",
                "printf %s \"$DB_PASSWORD\" | orchestrator secret put db-password", "orchestrator secret put tls-key --value-file key.pem")
            .With(name, file, description, binary, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<PutSecretRequest>();
                run.Set(name, n => request.Name = n);
                run.Set(description, d => request.Description = d);
                if (request.ValueCase == PutSecretRequest.ValueOneofCase.None || run.Given(file))
                {
                    var bytes = await ReadValueAsync(run, run.Value(file));
                    if (run.Value(binary))
                    {
                        request.BinaryValue = ByteString.CopyFrom(bytes);
                    }
                    else
                    {
                        request.StringValue = Utf8(bytes);
                    }
                }

                var response = await run.Secrets.PutSecretAsync(request, cancellationToken: run.Cancel);
                return Shared.ShowOne(run, response, response.Secret);
            });
    }

    private static async Task<byte[]> ReadValueAsync(Invocation run, string? path)
    {
        try
        {
            if (path is not null)
            {
                return await File.ReadAllBytesAsync(path, run.Cancel);
            }

            using var buffer = new MemoryStream();
            await run.Context.In.CopyToAsync(buffer, run.Cancel);
            return buffer.ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"--value-file {path}: {e.Message}");
        }
    }

    private static string Utf8(byte[] bytes)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new CliException("secret value: not UTF-8 text (use --binary to store bytes)");
        }
    }

    private static Command Describe(CliContext context, GlobalOptions options)
    {
        var name = new Argument<string?>("NAME") { Arity = ArgumentArity.ZeroOrOne, Description = "The secret's name" };
        return Verb("describe", "What is known of a secret (never its value)", "orchestrator secret describe db-password")
            .With(name, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<DescribeSecretRequest>();
                run.Set(name, n => request.Name = n);
                var response = await run.Secrets.DescribeSecretAsync(request, cancellationToken: run.Cancel);
                return Shared.ShowOne(run, response, response.Secret);
            });
    }

    private static Command List(CliContext context, GlobalOptions options)
    {
        var prefix = new Option<string?>("--prefix") { Description = "Only names starting with this" };
        var max = Shared.MaxResults();
        var next = Shared.NextToken();
        return Verb("ls", "Lists secrets by name", "orchestrator secret ls --prefix db-")
            .With(prefix, max, next, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<ListSecretsRequest>();
                run.Set(prefix, p => request.NamePrefix = p);
                run.Set(max, m => request.MaxResults = m);
                run.Set(next, n => request.NextToken = n);
                var response = await run.Secrets.ListSecretsAsync(request, cancellationToken: run.Cancel);
                var code = Shared.Show(run, response, response.Secrets, Columns);
                Shared.MorePages(run, response.NextToken);
                return code;
            });
    }

    private static Command Delete(CliContext context, GlobalOptions options)
    {
        var name = new Argument<string?>("NAME") { Arity = ArgumentArity.ZeroOrOne, Description = "The secret's name" };
        return Verb("delete", "Deletes every version of a secret", "orchestrator secret delete db-password")
            .With(name, options.CliInputJson)
            .Runs(context, options, async run =>
            {
                var request = run.Request<DeleteSecretRequest>();
                run.Set(name, n => request.Name = n);
                var response = await run.Secrets.DeleteSecretAsync(request, cancellationToken: run.Cancel);
                return Shared.ShowOne(run, response, response.Secret);
            });
    }
}
