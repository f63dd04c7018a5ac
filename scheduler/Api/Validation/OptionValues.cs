using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Api.Validation;

/// <summary>The value of a driver's option (volume driverOpts, log options): one bounded line of text.</summary>
internal static class OptionValues
{
    public static void Check(string value, string field)
    {
        if (value.Length > Limits.MaxOptionValueLength)
        {
            throw RequestException.Invalid(field, $"must be at most {Limits.MaxOptionValueLength} characters, not {value.Length}");
        }

        // Docker hands options to drivers and mount(2) as text; a control character there is a slip or an injection.
        if (value.Any(char.IsControl))
        {
            throw RequestException.Invalid(field, $"\"{Echo.Clip(value)}\" has a control character");
        }
    }
}
