using System.Net;
using Orchestrator.Scheduler.Hosting;

namespace Orchestrator.Balancer.Apply;

/// <summary>Whether a port a new frontend is to listen on is free on this host.</summary>
internal interface IPortCheck
{
    /// <returns>Null when it can be bound, else why not.</returns>
    string? WhyNotFree(string address, int port);
}

/// <summary>A bind of the port on the balancer's address (and released at once), as HAProxy's will be.</summary>
internal sealed class BindPortCheck : IPortCheck
{
    public string? WhyNotFree(string address, int port) => PortProbe.WhyNotBindable(new IPEndPoint(IPAddress.Parse(address), port));
}
