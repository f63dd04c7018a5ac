using Grpc.Core;

namespace Orchestrator.Tests.Shared;

/// <summary>Waiting for what the daemons reach on their own, for tests and benchmarks alike.</summary>
internal static class Polling
{
    /// <summary>
    /// Polls until the condition holds. An RpcException counts as "not yet" (a daemon still starting);
    /// past the timeout it throws a TimeoutException naming what it waited for, with the explanation.
    /// </summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan timeout, Func<string>? explain = null, int intervalMilliseconds = 100)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (RpcException)
            {
                // Not up yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting until {what}. {explain?.Invoke()}".TrimEnd());
            }

            await Task.Delay(intervalMilliseconds);
        }
    }
}
