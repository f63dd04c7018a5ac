using System.Text;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>
/// Key-based paging over a sorted list: the token is the last key of the previous page, so a page
/// is stable while items are added or removed elsewhere.
/// </summary>
internal static class Paging
{
    public static (IReadOnlyList<T> Items, string NextToken) Page<T>(IReadOnlyList<T> sorted, Func<T, string> keyOf, int maxResults, string nextToken)
    {
        if (maxResults is < 0 or > Limits.MaxPageSize)
        {
            throw RequestException.Invalid("maxResults", $"must be between 1 and {Limits.MaxPageSize}, not {maxResults}");
        }

        var size = maxResults == 0 ? Limits.DefaultPageSize : maxResults;
        var start = 0;
        if (nextToken.Length > 0)
        {
            var after = Decode(nextToken);
            start = LowerBound(sorted, keyOf, after);
        }

        var items = sorted.Skip(start).Take(size).ToList();
        var more = start + items.Count < sorted.Count;
        return (items, more && items.Count > 0 ? Encode(keyOf(items[^1])) : "");
    }

    private static int LowerBound<T>(IReadOnlyList<T> sorted, Func<T, string> keyOf, string after)
    {
        int low = 0, high = sorted.Count;
        while (low < high)
        {
            var mid = (low + high) / 2;
            if (string.CompareOrdinal(keyOf(sorted[mid]), after) <= 0)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return low;
    }

    private static string Encode(string key) => Convert.ToBase64String(Encoding.UTF8.GetBytes(key)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Decode(string token)
    {
        try
        {
            var base64 = token.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
            return Encoding.UTF8.GetString(Convert.FromBase64String(base64));
        }
        catch (FormatException)
        {
            throw RequestException.Invalid("nextToken", "is not a token from a previous page");
        }
    }
}
