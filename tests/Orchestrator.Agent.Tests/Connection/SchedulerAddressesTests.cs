using Grpc.Core;
using Orchestrator.Agent.Connection;

namespace Orchestrator.Agent.Tests.Connection;

/// <summary>Which scheduler an agent tries after each failure, and when it waits the backoff.</summary>
internal sealed class SchedulerAddressesTests
{
    private const string A = "https://a:7400";
    private const string B = "https://b:7400";
    private const string C = "https://c:7400";

    /// <summary>
    /// A list of schedulers, then failures, each "-" (no leader named) or the host:port a standby named:
    /// where the agent goes after each, as "address" (at once) or "address+wait" (after the backoff).
    /// </summary>
    [TestCase(A, "-,-,-", "https://a:7400+wait,https://a:7400+wait,https://a:7400+wait", TestName = "One scheduler: every failure waits")]
    [TestCase(A + "," + B + "," + C, "-,-,-,-", "https://b:7400,https://c:7400,https://a:7400+wait,https://b:7400", TestName = "Several: the next at once, a wait after each full round")]
    [TestCase(A + "," + B + "," + C, "c:7400,-,-", "https://c:7400,https://a:7400,https://b:7400+wait", TestName = "A standby's leader is followed at once, in the round")]
    [TestCase(A + "," + B + "," + C, "c:7400,b:7400,-", "https://c:7400,https://a:7400,https://b:7400+wait", TestName = "A leader is followed once per round, so two standbys cannot bounce the agent")]
    [TestCase(A + "," + B, "C:7400,-,-", "https://c:7400,https://a:7400,https://b:7400+wait", TestName = "A leader not in the list is followed and kept, by name case-insensitively")]
    [TestCase(A + "," + B, "a:7400,-", "https://b:7400,https://a:7400+wait", TestName = "A scheduler naming itself is passed over as a failure")]
    [TestCase(A + "," + B, "not a host,-", "https://b:7400,https://a:7400+wait", TestName = "A malformed leader is ignored")]
    [TestCase("http://127.0.0.1:7400,http://127.0.0.1:7401", "127.0.0.1:7401", "http://127.0.0.1:7401", TestName = "Cleartext addresses keep their scheme when following")]
    public void After_each_failure_the_agent_goes_on_as_the_table_says(string setting, string failures, string expected)
    {
        var addresses = new SchedulerAddresses(SchedulerAddresses.Parse(setting));
        var moves = failures.Split(',').Select(leader =>
        {
            var move = addresses.Failed(leader == "-" ? null : leader);
            Assert.That(addresses.Current, Is.EqualTo(move.Next));
            return move.Next + (move.RoundFailed ? "+wait" : "");
        });

        Assert.That(string.Join(',', moves), Is.EqualTo(expected));
    }

    [Test]
    public void A_success_starts_a_new_round_from_the_scheduler_that_took_the_agent()
    {
        var addresses = new SchedulerAddresses(SchedulerAddresses.Parse($"{A},{B},{C}"));
        addresses.Failed(null);
        addresses.Failed(null);
        addresses.Succeeded();

        var moves = Enumerable.Range(0, 3).Select(_ => addresses.Failed(null)).Select(m => (m.Failed, m.Next, m.RoundFailed)).ToList();

        Assert.That(moves, Is.EqualTo(new[] { (C, A, false), (A, B, false), (B, C, true) }));
    }

    [Test]
    public void A_leader_is_followed_again_in_the_next_round()
    {
        var addresses = new SchedulerAddresses(SchedulerAddresses.Parse($"{A},{B}"));
        Assert.That(addresses.Failed("b:7400").FollowsLeader);
        Assert.That(addresses.Failed(null).RoundFailed, "b failed too: back at a after the backoff");
        Assert.That(addresses.Failed("b:7400").FollowsLeader, "a new round");
    }

    [TestCase(" https://a:7400 , https://b:7400 ,", new[] { A, B })]
    [TestCase("https://a:7400/", new[] { A })]
    public void The_setting_takes_several_addresses_separated_by_commas(string setting, string[] expected) =>
        Assert.That(new SchedulerAddresses(SchedulerAddresses.Parse(setting)).All, Is.EqualTo(expected));

    [TestCase("", "names no scheduler")]
    [TestCase(" , ", "names no scheduler")]
    [TestCase("https://a:7400,b:7400", "not \"b:7400\"")]
    [TestCase("https://a:7400,ftp://b:1", "not \"ftp://b:1\"")]
    [TestCase("https://a:7400/some/path", "not \"https://a:7400/some/path\"")]
    [TestCase("https://a:7400,http://b:7400", "mixes http:// and https://")]
    public void A_bad_setting_is_refused_naming_it(string setting, string problem) =>
        Assert.That(() => SchedulerAddresses.Parse(setting), Throws.TypeOf<FormatException>().With.Message.StartWith("Agent:SchedulerAddress").And.Message.Contains(problem));

    [Test]
    public void The_leader_a_standby_names_is_read_from_its_trailer_on_unavailable_only()
    {
        var trailers = new Metadata { { SchedulerConnection.LeaderTrailer, "b:7400" } };
        Assert.Multiple(() =>
        {
            Assert.That(SchedulerConnection.LeaderNamedBy(new RpcException(new Status(StatusCode.Unavailable, "not the leader"), trailers)), Is.EqualTo("b:7400"));
            Assert.That(SchedulerConnection.LeaderNamedBy(new RpcException(new Status(StatusCode.Unavailable, "stopping"))), Is.Null);
            Assert.That(SchedulerConnection.LeaderNamedBy(new RpcException(new Status(StatusCode.Internal, "x"), trailers)), Is.Null);
            Assert.That(SchedulerConnection.LeaderNamedBy(new IOException("reset")), Is.Null);
        });
    }
}
