namespace Orchestrator.Balancer.Apply;

/// <summary>
/// HAProxy's view of one target as the scheduler's words: UP, DOWN or INITIAL. <c>show stat</c>'s status is
/// "UP"/"DRAIN"/"NOLB" while it takes or may take traffic, "DOWN" when it failed its checks, and "UP 1/2"
/// or "DOWN 1/2" while a run of results is still counting towards the thresholds. A target the balancer
/// gave a slot is INITIAL until it was first seen UP: while its first check has not run ("INI"), while it
/// rises ("DOWN n/m"), and for as long as its checks need to fail it (the slot's last check status may still
/// be the previous target's); after that, DOWN.
/// </summary>
internal static class CheckVerdict
{
    public const string Up = "UP";
    public const string Down = "DOWN";
    public const string Initial = "INITIAL";

    public static string Of(string status, string checkStatus, bool seenUp, bool withinFirstChecks)
    {
        if (status.StartsWith("UP", StringComparison.Ordinal) || status is "DRAIN" or "NOLB")
        {
            return seenUp || !status.Contains('/', StringComparison.Ordinal) || checkStatus != "INI" ? Up : Initial;
        }

        if (seenUp)
        {
            return Down;
        }

        return checkStatus == "INI" || status.StartsWith("DOWN ", StringComparison.Ordinal) || withinFirstChecks ? Initial : Down;
    }

    /// <summary>"L7OK", or with HAProxy's description and code: "L7STS: Layer7 wrong status, code: 500".</summary>
    public static string Description(string checkStatus, string checkCode, string checkDescription)
    {
        if (checkDescription.Length == 0)
        {
            return checkStatus;
        }

        var code = checkCode.Length > 0 && !checkDescription.Contains(checkCode, StringComparison.Ordinal) ? $", code: {checkCode}" : "";
        return $"{checkStatus}: {checkDescription}{code}";
    }
}
