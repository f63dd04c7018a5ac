using Orchestrator.Balancer.Apply;
using Orchestrator.Balancer.Haproxy;

namespace Orchestrator.Balancer.Tests;

public sealed class ParsingTests
{
    // As HAProxy 2.6.12 answered on loopback.
    private const string ServersState = """
        1
        # be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
        3 be_web 1 s1 127.0.0.1 2 4 50 1 41 15 3 3 6 0 0 0 - 18081 - 0 0 - - 0
        3 be_web 4 s4 127.0.0.1 2 12 0 1 21 15 3 3 6 0 0 0 - 18082 - 0 0 - - 0
        5 be_api 1 s1 127.0.0.1 0 5 1 1 0 1 0 0 14 0 0 0 - 1 - 0 0 - - 0

        """;

    [Test]
    public void ServersStateSlots()
    {
        var slots = ServerSlot.Parse(ServersState);
        Assert.That(slots, Has.Count.EqualTo(3));
        Assert.That(slots[0], Is.EqualTo(new ServerSlot("be_web", "s1", "127.0.0.1", 18081, 2, 4, 50)));
        Assert.That((slots[0].Maintenance, slots[0].Draining), Is.EqualTo((false, false)));
        Assert.That((slots[1].Maintenance, slots[1].Draining), Is.EqualTo((false, true)));
        Assert.That((slots[2].Maintenance, slots[2].Key), Is.EqualTo((true, "127.0.0.1:1")));
    }

    [Test]
    public void StatRows()
    {
        var csv = "# pxname,svname,qcur,qmax,scur,status,check_status,check_code,check_desc\n"
            + "fe_web,FRONTEND,,,0,OPEN,,,\n"
            + "be_web,s1,0,0,3,UP,L7OK,200,Layer7 check passed\n"
            + "be_web,s2,0,0,0,DOWN 1/2,L7STS,500,Layer7 wrong status\n"
            + "be_web,BACKEND,0,0,3,UP,,,\n";
        var rows = StatRow.Parse(csv);
        Assert.That(rows, Is.EqualTo(new[]
        {
            new StatRow("be_web", "s1", "UP", "L7OK", "200", "Layer7 check passed", 3),
            new StatRow("be_web", "s2", "DOWN 1/2", "L7STS", "500", "Layer7 wrong status", 0),
        }));
    }

    [TestCase("#<PID>          <type>          <reloads>       <uptime>        <version>      \n15478           master          2 [failed: 1]   0d00h11m12s     2.6.12-1+deb12u4\n# workers\n", 2, 1)]
    [TestCase("1 master 0 [failed: 0] 0d00h00m01s 2.6.12\n", 0, 0)]
    public void ShowProc(string answer, int reloads, int failed) =>
        Assert.That(HaproxyRuntime.ParseShowProc(answer), Is.EqualTo(new MasterCounters(reloads, failed)));

    [TestCase("UP", "L7OK", false, false, "UP")]
    [TestCase("UP 1/2", "INI", false, true, "INITIAL")]
    [TestCase("DOWN", "INI", false, true, "INITIAL")]
    [TestCase("DOWN 1/2", "L7OK", false, false, "INITIAL")]
    [TestCase("DOWN", "L4CON", false, true, "INITIAL")]
    [TestCase("DOWN", "L4CON", false, false, "DOWN")]
    [TestCase("DOWN", "L4CON", true, true, "DOWN")]
    [TestCase("DOWN 1/2", "L7OK", true, false, "DOWN")]
    [TestCase("DRAIN", "L7OK", true, false, "UP")]
    [TestCase("UP 1/2", "L7STS", true, false, "UP")]
    public void Verdicts(string status, string check, bool seenUp, bool firstChecks, string verdict) =>
        Assert.That(CheckVerdict.Of(status, check, seenUp, firstChecks), Is.EqualTo(verdict));

    [Test]
    public void ConfiguredPortsAreTheBindLines() =>
        Assert.That(ConfiguredPorts.In("frontend a\n    bind 0.0.0.0:8080\nfrontend b\n    bind [::]:81\n"), Is.EquivalentTo(new[] { 8080, 81 }));
}
