using Orchestrator.Balancer.Haproxy;

namespace Orchestrator.Balancer.Tests;

public sealed class RendererTests
{
    private static readonly RenderSettings Settings = new("/run/admin.sock", "/var/lib/haproxy/state", "0.0.0.0", "lb-1");

    private static GroupLayout Group(string name, bool http = true, int port = 8080, HealthCheckSettings? check = null, int slots = 8) =>
        new(new GroupSettings(name, http, port, check ?? HealthCheckSettings.Default), slots);

    [Test]
    public void GlobalHasTheAdminSocketAndStateFile()
    {
        var text = HaproxyConfigRenderer.Render(Settings, []);
        Assert.That(text, Does.Contain("stats socket /run/admin.sock mode 660 level admin expose-fd listeners\n"));
        Assert.That(text, Does.Contain("server-state-file /var/lib/haproxy/state\n"));
        Assert.That(text, Does.Contain("load-server-state-from-file global\n"));
        Assert.That(text, Does.Not.Contain("frontend"));
    }

    [Test]
    public void RunAsDropsTheWorkersAndOwnsTheAdminSocket()
    {
        var text = HaproxyConfigRenderer.Render(Settings with { RunAs = "haproxy" }, []);
        Assert.That(text, Does.Contain("global\n    user haproxy\n    group haproxy\n    stats socket /run/admin.sock mode 660 group haproxy level admin expose-fd listeners\n"));
        Assert.That(HaproxyConfigRenderer.Render(Settings, []), Does.Not.Contain("user "), "nothing dropped unless asked");
    }

    [TestCase(true, "mode http", "option forwardfor")]
    [TestCase(false, "mode tcp", null)]
    public void ModeAndForwardedFor(bool http, string mode, string? forwardFor)
    {
        var text = HaproxyConfigRenderer.Render(Settings, [Group("web", http, check: HealthCheckSettings.Default with { Http = http })]);
        Assert.That(text, Does.Contain("frontend fe_web\n    mode " + mode.Split(' ')[1] + "\n    bind 0.0.0.0:8080\n"));
        Assert.That(text, Does.Contain("backend be_web\n    " + mode + "\n    balance roundrobin\n"));
        Assert.That(text.Contains("option forwardfor", StringComparison.Ordinal), Is.EqualTo(forwardFor is not null));
        Assert.That(text.Contains("option httpchk", StringComparison.Ordinal), Is.EqualTo(http));
    }

    [Test]
    public void HealthCheckAndSlots()
    {
        var check = new HealthCheckSettings(true, "/health z", "200-204", 7, 3, 4, 5);
        var text = HaproxyConfigRenderer.Render(Settings, [Group("api", check: check, slots: 16)]);
        Assert.That(text, Does.Contain("    option httpchk GET /health%20z\n"));
        Assert.That(text, Does.Contain("    http-check expect rstatus ^(200|201|202|203|204)$\n"));
        Assert.That(text, Does.Contain("    timeout check 3s\n"));
        Assert.That(text, Does.Contain("    default-server inter 7s fall 5 rise 4\n"));
        Assert.That(text, Does.Contain("    server-template s 1-16 127.0.0.1:1 check disabled\n"));
    }

    [Test]
    public void GroupsInNameOrderAndIpv6Bind()
    {
        var text = HaproxyConfigRenderer.Render(Settings with { BindAddress = "::" }, [Group("b", port: 2), Group("a", port: 1)]);
        Assert.That(text.IndexOf("frontend fe_a", StringComparison.Ordinal), Is.LessThan(text.IndexOf("frontend fe_b", StringComparison.Ordinal)));
        Assert.That(text, Does.Contain("bind [::]:1\n"));
    }

    [TestCase("200", "http-check expect status 200")]
    [TestCase("200,204", "http-check expect rstatus ^(200|204)$")]
    [TestCase(" 204 , 200 ", "http-check expect rstatus ^(200|204)$")]
    [TestCase("301-302,200", "http-check expect rstatus ^(200|301|302)$")]
    [TestCase("", "http-check expect status 200")]
    public void Matchers(string matcher, string line) => Assert.That(HttpStatusMatcher.ExpectLine(matcher), Is.EqualTo(line));

    [TestCase("abc")]
    [TestCase("99")]
    [TestCase("300-200")]
    [TestCase("600")]
    public void BadMatchers(string matcher) => Assert.Throws<FormatException>(() => HttpStatusMatcher.Codes(matcher));

    [TestCase("web-1", "be_web-1")]
    [TestCase("Web1", "be_Web1")]
    public void SafeNamesStay(string group, string backend) => Assert.That(HaproxyNames.Backend(group), Is.EqualTo(backend));

    [Test]
    public void UnsafeNamesAreReplacedAndDistinct()
    {
        var a = HaproxyNames.Backend("a b");
        var b = HaproxyNames.Backend("a_b");
        Assert.That(a, Does.Match("^be_a_b_[0-9a-f]{8}$"));
        Assert.That(b, Is.Not.EqualTo(a));
        Assert.That(HaproxyNames.Backend("x#y\nz"), Does.Not.Contain("#").And.Not.Contain("\n"));
    }

    [TestCase(0, 0, 8)]
    [TestCase(3, 0, 8)]
    [TestCase(5, 0, 10)]
    [TestCase(8, 8, 8)]
    [TestCase(9, 8, 16)]
    [TestCase(40, 8, 64)]
    public void Slots(int targets, int current, int slots) => Assert.That(HaproxyConfigRenderer.SlotsFor(targets, current), Is.EqualTo(slots));
}
