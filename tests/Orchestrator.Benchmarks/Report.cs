namespace Orchestrator.Benchmarks;

/// <summary>Collects results and prints them as the Markdown table the README carries.</summary>
internal sealed class Report
{
    private readonly List<(string Area, string Case, string Result, string Baseline)> _rows = [];

    public void Add(string area, string @case, string result, string baseline)
    {
        _rows.Add((area, @case, result, baseline));
        Console.Error.WriteLine($"  {area}: {@case}: {result}  {baseline}");
    }

    public void Print()
    {
        Console.WriteLine("| area | case | result | baseline in the same run |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var (area, @case, result, baseline) in _rows)
        {
            Console.WriteLine($"| {area} | {@case} | {result} | {baseline} |");
        }
    }
}
