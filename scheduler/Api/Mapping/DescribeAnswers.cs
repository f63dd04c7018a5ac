using Google.Protobuf.Collections;
using Contract = Orchestrator.Contracts.V1;

namespace Orchestrator.Scheduler.Api.Mapping;

/// <summary>
/// The shape every Describe call answers in, as ECS's do: what was found, in the order asked, and a
/// MISSING failure for each name that was not, instead of failing the whole call.
/// </summary>
internal static class DescribeAnswers
{
    public const string Missing = "MISSING";

    /// <param name="looked">Each name asked for, with what was found for it (null: nothing).</param>
    /// <param name="missing">The failure's detail for a name not found, e.g. "service \"web\" does not exist…".</param>
    public static void Fill<TFound, TWire>(
        IEnumerable<(string Name, TFound? Found)> looked,
        Func<TFound, TWire> map,
        RepeatedField<TWire> found,
        RepeatedField<Contract.Failure> failures,
        Func<string, string> missing)
        where TFound : class
    {
        foreach (var (name, item) in looked)
        {
            if (item is not null)
            {
                found.Add(map(item));
            }
            else
            {
                failures.Add(new Contract.Failure { Subject = name, Reason = Missing, Detail = missing(name) });
            }
        }
    }
}
