using Orchestrator.Balancer.Apply;
using Orchestrator.Balancer.Hosting;
using Orchestrator.Contracts.V1;

namespace Orchestrator.Balancer.Tests;

public sealed class OptionsTests
{
    [Test]
    public void DefaultsAreValid() => Assert.DoesNotThrow(() => new BalancerOptions { Name = "lb-1" }.Validate());

    [TestCase("Name", "bad name", "Balancer:Name")]
    [TestCase("Schedulers", "", "Balancer:Schedulers")]
    [TestCase("Schedulers", "ftp://x:1", "Balancer:Schedulers")]
    [TestCase("TargetGroups", "web,a b", "Balancer:TargetGroups")]
    [TestCase("ConfigPath", "relative.cfg", "Balancer:Haproxy:ConfigPath")]
    [TestCase("AdminSocket", "", "Balancer:Haproxy:AdminSocket")]
    [TestCase("MasterSocket", "x.sock", "Balancer:Haproxy:MasterSocket")]
    [TestCase("StateFile", "state", "Balancer:Haproxy:StateFile")]
    [TestCase("BindAddress", "localhost", "Balancer:Haproxy:BindAddress")]
    [TestCase("RunAs", "haproxy\nuser root", "Balancer:Haproxy:RunAs")]
    [TestCase("RunAs", "Ha Proxy", "Balancer:Haproxy:RunAs")]
    public void BadValuesNameTheirSetting(string setting, string value, string named)
    {
        var options = new BalancerOptions { Name = "lb-1" };
        switch (setting)
        {
            case "Name": options.Name = value; break;
            case "Schedulers": options.Schedulers = value; break;
            case "TargetGroups": options.TargetGroups = value; break;
            case "ConfigPath": options.Haproxy.ConfigPath = value; break;
            case "AdminSocket": options.Haproxy.AdminSocket = value; break;
            case "MasterSocket": options.Haproxy.MasterSocket = value; break;
            case "StateFile": options.Haproxy.StateFile = value; break;
            case "BindAddress": options.Haproxy.BindAddress = value; break;
            case "RunAs": options.Haproxy.RunAs = value; break;
        }

        Assert.That(() => options.Validate(), Throws.TypeOf<FormatException>().With.Message.Contains(named));
    }

    [Test]
    public void TheTokenIsReadFromItsFileAndAnEmptyOneIsRefused()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "  secret-token\n");
            Assert.That(new BalancerOptions { TokenFile = path }.ReadToken(), Is.EqualTo("secret-token"));
            File.WriteAllText(path, "\n");
            Assert.That(() => new BalancerOptions { TokenFile = path }.ReadToken(), Throws.TypeOf<FormatException>().With.Message.Contains("Balancer:TokenFile").And.Message.Not.Contains("secret"));
            Assert.That(() => new BalancerOptions { TokenFile = path + ".missing" }.ReadToken(), Throws.TypeOf<FormatException>().With.Message.Contains("Balancer:TokenFile"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void AnAssignmentBecomesTheServedGroupsWithDefaults()
    {
        var assignment = new BalancerAssignment { Version = 3 };
        assignment.TargetGroups.Add(new BalancedTargetGroup
        {
            TargetGroup = new TargetGroup { Name = "web", Protocol = "HTTP", Port = 8080 },
            Targets = { new BalancedTarget { Id = "t1", Host = "10.0.0.1", Port = 32768, Weight = 100 }, new BalancedTarget { Id = "t2", Host = "10.0.0.2", Port = 32769, Weight = 300, Draining = true } },
        });
        assignment.TargetGroups.Add(new BalancedTargetGroup
        {
            TargetGroup = new TargetGroup { Name = "db", Protocol = "TCP", Port = 5432, HealthCheck = new TargetGroupHealthCheck { IntervalSeconds = 10, HealthyThreshold = 3 } },
        });
        assignment.TargetGroups.Add(new BalancedTargetGroup { TargetGroup = new TargetGroup { Name = "other", Protocol = "HTTP", Port = 81 } });

        var groups = DesiredState.From(assignment, new HashSet<string> { "web", "db" }, host => host == "10.0.0.2" ? host : "10.0.0.1");

        Assert.That(groups.Select(g => g.Name), Is.EqualTo(new[] { "web", "db" }));
        var web = groups[0];
        Assert.That((web.Http, web.Port, web.Check.Http, web.Check.Path, web.Check.Matcher, web.Check.IntervalSeconds, web.Check.TimeoutSeconds), Is.EqualTo((true, 8080, true, "/", "200", 5, 2)));
        Assert.That(web.Targets[1], Is.EqualTo(new Haproxy.DesiredTarget("t2", "10.0.0.2", 32769, 256, true)));
        var db = groups[1];
        Assert.That((db.Http, db.Check.Http, db.Check.IntervalSeconds, db.Check.HealthyThreshold, db.Check.UnhealthyThreshold), Is.EqualTo((false, false, 10, 3, 2)));
        Assert.That(DesiredState.From(assignment, new HashSet<string>()).Select(g => g.Name), Is.EqualTo(new[] { "web", "db", "other" }));
    }
}
