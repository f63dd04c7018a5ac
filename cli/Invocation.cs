using System.CommandLine;
using Google.Protobuf;
using Grpc.Net.Client;
using Orchestrator.Cli.Connection;
using Orchestrator.Cli.Input;
using Orchestrator.Cli.Output;
using Orchestrator.Contracts.V1;

namespace Orchestrator.Cli;

/// <summary>One run of one command: its parsed values, its output, and its channel (opened when first used).</summary>
internal sealed class Invocation : IDisposable
{
    private readonly GlobalOptions _options;
    private GrpcChannel? _channel;

    public Invocation(ParseResult parse, CliContext context, GlobalOptions options, CancellationToken cancel)
    {
        Parse = parse;
        Context = context;
        _options = options;
        Cancel = cancel;
        var format = parse.GetValue(options.Output) switch
        {
            "json" => OutputFormat.Json,
            "table" => OutputFormat.Table,
            _ => context.StdoutIsTerminal ? OutputFormat.Table : OutputFormat.Json,
        };
        Printer = new Printer(context.Out, format, context.StdoutIsTerminal, context.Width);
    }

    public ParseResult Parse { get; }
    public CliContext Context { get; }
    public CancellationToken Cancel { get; }
    public Printer Printer { get; }

    public GrpcChannel Channel => _channel ??= ChannelFactory.Create(Settings(), Context.HttpHandler);

    public ClusterService.ClusterServiceClient Clusters => new(Channel);
    public TaskDefinitionService.TaskDefinitionServiceClient TaskDefinitions => new(Channel);
    public TaskService.TaskServiceClient Tasks => new(Channel);
    public ServiceService.ServiceServiceClient Services => new(Channel);
    public NodeService.NodeServiceClient Nodes => new(Channel);
    public SecretService.SecretServiceClient Secrets => new(Channel);
    public TokenService.TokenServiceClient Tokens => new(Channel);
    public EventService.EventServiceClient Events => new(Channel);
    public TagService.TagServiceClient Tagging => new(Channel);

    public T? Value<T>(Option<T> option) => Parse.GetValue(option);
    public T? Value<T>(Argument<T> argument) => Parse.GetValue(argument);

    /// <summary>Whether the option was on the command line (flags override the --cli-input-json file only then).</summary>
    public bool Given(Option option) => Parse.GetResult(option) is { Implicit: false };

    // Flags that were given override what --cli-input-json set; those not given leave it.
    public void Set(Option<string?> option, Action<string> apply)
    {
        if (Value(option) is { } value)
        {
            apply(value);
        }
    }

    public void Set(Option<int?> option, Action<int> apply)
    {
        if (Value(option) is { } value)
        {
            apply(value);
        }
    }

    public void Set(Option<bool> option, Action<bool> apply)
    {
        if (Given(option))
        {
            apply(Value(option));
        }
    }

    public void Set(Argument<string?> argument, Action<string> apply)
    {
        if (Value(argument) is { } value)
        {
            apply(value);
        }
    }

    /// <summary>The --cluster flag onto a request's cluster field.</summary>
    public void SetCluster(Action<string> apply) => Set(_options.Cluster, apply);

    /// <summary>The cluster flag, when given.</summary>
    public string? Cluster => Value(_options.Cluster);

    /// <summary>The request from --cli-input-json, or an empty one.</summary>
    public T Request<T>()
        where T : IMessage<T>, new() =>
        Value(_options.CliInputJson) is { } path ? RequestInput.Load<T>(path, Context.In, "--cli-input-json") : new T();

    /// <summary>A line on stderr in the CLI's one error format.</summary>
    public void Error(string line) => Context.Error.WriteLine($"orchestrator: {line}");

    /// <summary>Prints an answer's failures (ECS style: what could not be done) as error lines; true when there were any.</summary>
    public bool ReportFailures(IEnumerable<Failure> failures)
    {
        var any = false;
        foreach (var failure in failures)
        {
            any = true;
            Error($"{failure.Reason}: {failure.Subject}{(failure.Detail.Length > 0 ? ": " + failure.Detail : "")}");
        }

        return any;
    }

    private ConnectionSettings Settings()
    {
        var address = Value(_options.Address) ?? Context.Env("ORCHESTRATOR_ADDR") ?? ConnectionSettings.DefaultAddress;
        return new ConnectionSettings(
            ConnectionSettings.ParseAddresses(address),
            Value(_options.CaCert) ?? Context.Env("ORCHESTRATOR_CACERT"),
            (Value(_options.Token) ?? Context.Env("ORCHESTRATOR_TOKEN"))?.Trim());
    }

    public void Dispose() => _channel?.Dispose();
}
