using Orchestrator.Contracts.V1;
using Orchestrator.Scheduler.Api.Validation;
using Orchestrator.Scheduler.Domain;
using Orchestrator.Scheduler.State;

namespace Orchestrator.Scheduler.Tests.Validation;

/// <summary>CreateTargetGroup's request, field by field: defaults filled in, every bad value refused naming its field.</summary>
internal sealed class TargetGroupValidatorTests
{
    private static CreateTargetGroupRequest Request(Action<CreateTargetGroupRequest>? change = null)
    {
        var request = new CreateTargetGroupRequest { Name = "web", Port = 8080 };
        change?.Invoke(request);
        return request;
    }

    private static CreateTargetGroupRequest WithCheck(Action<TargetGroupHealthCheck> change) => Request(r =>
    {
        r.HealthCheck = new TargetGroupHealthCheck();
        change(r.HealthCheck);
    });

    [Test]
    public void Left_out_everything_takes_the_defaults()
    {
        var group = TargetGroupValidator.Create(Request());
        Assert.That(group, Is.EqualTo(new TargetGroupRecord("web", TargetProtocol.Http, 8080, new TargetHealthCheck(TargetProtocol.Http, "/", "200", 5, 2, 2, 2),
            TargetGroupRecord.DefaultDeregistrationDelaySeconds, default)));
    }

    [Test]
    public void A_TCP_group_checks_by_TCP_unless_told_and_an_empty_check_is_the_default()
    {
        var tcp = TargetGroupValidator.Create(Request(r => { r.Protocol = "TCP"; r.HealthCheck = new TargetGroupHealthCheck(); }));
        var httpCheckOnTcp = TargetGroupValidator.Create(Request(r => { r.Protocol = "TCP"; r.HealthCheck = new TargetGroupHealthCheck { Protocol = "HTTP", Path = "/ready" }; }));
        var tcpCheckOnHttp = TargetGroupValidator.Create(WithCheck(c => c.Protocol = "TCP"));
        Assert.Multiple(() =>
        {
            Assert.That(tcp.HealthCheck, Is.EqualTo(TargetHealthCheck.Default(TargetProtocol.Tcp)));
            Assert.That((httpCheckOnTcp.Protocol, httpCheckOnTcp.HealthCheck.Protocol, httpCheckOnTcp.HealthCheck.Path), Is.EqualTo((TargetProtocol.Tcp, TargetProtocol.Http, "/ready")));
            Assert.That((tcpCheckOnHttp.Protocol, tcpCheckOnHttp.HealthCheck.Protocol), Is.EqualTo((TargetProtocol.Http, TargetProtocol.Tcp)));
        });
    }

    [Test]
    public void Everything_given_is_kept()
    {
        var group = TargetGroupValidator.Create(Request(r =>
        {
            r.Protocol = "HTTP";
            r.Port = 65535;
            r.DeregistrationDelaySeconds = 0;
            r.HealthCheck = new TargetGroupHealthCheck
            {
                Path = "/healthz?full=1", Matcher = "200-299,304", IntervalSeconds = 300, TimeoutSeconds = 120, HealthyThreshold = 10, UnhealthyThreshold = 1,
            };
        }));
        Assert.That(group, Is.EqualTo(new TargetGroupRecord("web", TargetProtocol.Http, 65535,
            new TargetHealthCheck(TargetProtocol.Http, "/healthz?full=1", "200-299,304", 300, 120, 10, 1), 0, default)));
    }

    [TestCase(3, 2)]
    [TestCase(2, 1)]
    public void A_timeout_left_out_fits_a_short_interval(int interval, int timeout) =>
        Assert.That(TargetGroupValidator.Create(WithCheck(c => c.IntervalSeconds = interval)).HealthCheck.TimeoutSeconds, Is.EqualTo(timeout));

    [TestCase("a")]
    [TestCase("a-b-9")]
    [TestCase("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345")]
    public void A_valid_name_is_kept(string name) => Assert.That(TargetGroupValidator.Name(name, "name"), Is.EqualTo(name));

    [TestCase("200")]
    [TestCase("200,204")]
    [TestCase("200-299")]
    [TestCase("100-599")]
    [TestCase("200,300-399,404")]
    public void A_valid_matcher_is_kept(string matcher) => Assert.That(TargetGroupValidator.Matcher(matcher, "m"), Is.EqualTo(matcher));

    private static IEnumerable<TestCaseData> Bad()
    {
        TestCaseData Case(string name, CreateTargetGroupRequest request, string detail) => new TestCaseData(request, detail).SetName(name);
        yield return Case("no name", Request(r => r.Name = ""), "name: target group name is required");
        yield return Case("a name of 33", Request(r => r.Name = new string('a', 33)), "name: \"" + new string('a', 33) + "\" is not a valid target group name: use 1 to 32 letters, digits and hyphens, not starting or ending with a hyphen");
        yield return Case("a name starting with a hyphen", Request(r => r.Name = "-web"), "name: \"-web\" is not a valid target group name: use 1 to 32 letters, digits and hyphens, not starting or ending with a hyphen");
        yield return Case("a name ending with a hyphen", Request(r => r.Name = "web-"), "name: \"web-\" is not a valid target group name: use 1 to 32 letters, digits and hyphens, not starting or ending with a hyphen");
        yield return Case("a name with an underscore", Request(r => r.Name = "web_1"), "name: \"web_1\" is not a valid target group name: use 1 to 32 letters, digits and hyphens, not starting or ending with a hyphen");
        yield return Case("a lowercase protocol", Request(r => r.Protocol = "http"), "protocol: must be \"HTTP\" or \"TCP\", not \"http\"");
        yield return Case("UDP", Request(r => r.Protocol = "UDP"), "protocol: must be \"HTTP\" or \"TCP\", not \"UDP\"");
        yield return Case("no port", Request(r => r.Port = 0), "port: must be between 1 and 65535, not 0");
        yield return Case("port 65536", Request(r => r.Port = 65536), "port: must be between 1 and 65535, not 65536");
        yield return Case("a negative port", Request(r => r.Port = -1), "port: must be between 1 and 65535, not -1");
        yield return Case("a check protocol", WithCheck(c => c.Protocol = "HTTPS"), "healthCheck.protocol: must be \"HTTP\" or \"TCP\", not \"HTTPS\"");
        yield return Case("a relative path", WithCheck(c => c.Path = "health"), "healthCheck.path: must start with \"/\", not \"health\"");
        yield return Case("a path with a space", WithCheck(c => c.Path = "/a b"), "healthCheck.path: \"/a b\" has a space or a control character: write them percent-encoded");
        yield return Case("a path with a newline", WithCheck(c => c.Path = "/a\nb"), "healthCheck.path: \"/a\\nb\" has a space or a control character: write them percent-encoded");
        yield return Case("a path of 1025", WithCheck(c => c.Path = "/" + new string('a', 1024)), "healthCheck.path: must be at most 1024 characters, not 1025");
        yield return Case("a path on a TCP check", WithCheck(c => { c.Protocol = "TCP"; c.Path = "/"; }), "healthCheck.path: a TCP health check only connects: it takes no path or matcher");
        yield return Case("a matcher on a TCP check", WithCheck(c => { c.Protocol = "TCP"; c.Matcher = "200"; }), "healthCheck.matcher: a TCP health check only connects: it takes no path or matcher");
        yield return Case("a matcher word", WithCheck(c => c.Matcher = "ok"), "healthCheck.matcher: \"ok\" is not a list of HTTP codes: write codes from 100 to 599 as \"200\", \"200,204\" or \"200-299\"");
        yield return Case("a matcher code of 600", WithCheck(c => c.Matcher = "200,600"), "healthCheck.matcher: \"200,600\" is not a list of HTTP codes: write codes from 100 to 599 as \"200\", \"200,204\" or \"200-299\"");
        yield return Case("a matcher code of 99", WithCheck(c => c.Matcher = "99"), "healthCheck.matcher: \"99\" is not a list of HTTP codes: write codes from 100 to 599 as \"200\", \"200,204\" or \"200-299\"");
        yield return Case("a matcher with a space", WithCheck(c => c.Matcher = "200, 204"), "healthCheck.matcher: \"200, 204\" is not a list of HTTP codes: write codes from 100 to 599 as \"200\", \"200,204\" or \"200-299\"");
        yield return Case("a matcher with an empty part", WithCheck(c => c.Matcher = "200,"), "healthCheck.matcher: \"200,\" is not a list of HTTP codes: write codes from 100 to 599 as \"200\", \"200,204\" or \"200-299\"");
        yield return Case("a matcher of three bounds", WithCheck(c => c.Matcher = "200-250-299"), "healthCheck.matcher: \"200-250-299\" is not a list of HTTP codes: write codes from 100 to 599 as \"200\", \"200,204\" or \"200-299\"");
        yield return Case("a backward range", WithCheck(c => c.Matcher = "299-200"), "healthCheck.matcher: the range \"299-200\" ends before it starts");
        yield return Case("an interval of 301", WithCheck(c => c.IntervalSeconds = 301), "healthCheck.intervalSeconds: must be between 1 and 300, not 301");
        yield return Case("a negative interval", WithCheck(c => c.IntervalSeconds = -5), "healthCheck.intervalSeconds: must be between 1 and 300, not -5");
        yield return Case("a timeout of 121", WithCheck(c => { c.IntervalSeconds = 300; c.TimeoutSeconds = 121; }), "healthCheck.timeoutSeconds: must be between 1 and 120, not 121");
        yield return Case("a timeout as long as the interval", WithCheck(c => { c.IntervalSeconds = 5; c.TimeoutSeconds = 5; }), "healthCheck.timeoutSeconds: must be less than healthCheck.intervalSeconds (5), not 5");
        yield return Case("a timeout longer than the default interval", WithCheck(c => c.TimeoutSeconds = 10), "healthCheck.timeoutSeconds: must be less than healthCheck.intervalSeconds (5), not 10");
        yield return Case("an interval too short for any timeout", WithCheck(c => c.IntervalSeconds = 1), "healthCheck.timeoutSeconds: must be between 1 and 120 and less than healthCheck.intervalSeconds; with an interval of 1 s no timeout fits");
        yield return Case("a healthy threshold of 11", WithCheck(c => c.HealthyThreshold = 11), "healthCheck.healthyThreshold: must be between 1 and 10, not 11");
        yield return Case("a negative unhealthy threshold", WithCheck(c => c.UnhealthyThreshold = -1), "healthCheck.unhealthyThreshold: must be between 1 and 10, not -1");
        yield return Case("a delay of 3601", Request(r => r.DeregistrationDelaySeconds = 3601), "deregistrationDelaySeconds: must be between 0 and 3600, not 3601");
        yield return Case("a negative delay", Request(r => r.DeregistrationDelaySeconds = -1), "deregistrationDelaySeconds: must be between 0 and 3600, not -1");
    }

    [TestCaseSource(nameof(Bad))]
    public void A_bad_request_is_refused_naming_the_field(CreateTargetGroupRequest request, string detail)
    {
        var refused = Assert.Throws<RequestException>(() => TargetGroupValidator.Create(request))!;
        Assert.That((refused.Kind, refused.Message), Is.EqualTo((RequestErrorKind.InvalidArgument, detail)));
    }
}
