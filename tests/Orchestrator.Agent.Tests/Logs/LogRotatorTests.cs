using Microsoft.Extensions.Time.Testing;
using Orchestrator.Agent.Runtime.Logs;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Tests.Logs;

/// <summary>Rotation by copy and truncate, as the shim's O_APPEND file needs, and Docker's size form.</summary>
internal sealed class LogRotatorTests
{
    private string _directory = null!;
    private string _path = null!;

    [SetUp]
    public void SetUp()
    {
        _directory = Directory.CreateTempSubdirectory("log-rotator-").FullName;
        _path = Path.Combine(_directory, "container.log");
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_directory, recursive: true);

    private string[] Files() => [.. Directory.GetFiles(_directory).Select(Path.GetFileName).Order()!];

    [Test]
    public void A_log_at_or_under_its_max_is_left_alone()
    {
        File.WriteAllText(_path, "12345");

        Assert.That(LogRotator.RotateIfOver(_path, 5, 3), Is.False);
        Assert.That(File.ReadAllText(_path), Is.EqualTo("12345"));
        Assert.That(Files(), Is.EqualTo(new[] { "container.log" }));
    }

    [Test]
    public void A_missing_log_is_left_alone() => Assert.That(LogRotator.RotateIfOver(_path, 5, 3), Is.False);

    [Test]
    public void Over_its_max_the_log_is_copied_to_1_older_ones_shift_up_the_oldest_falls_off_and_it_is_truncated()
    {
        File.WriteAllText(_path + ".2", "oldest");
        File.WriteAllText(_path + ".1", "older");
        File.WriteAllText(_path, "current!");
        var written = new DateTime(2026, 3, 1, 8, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(_path, written);

        Assert.That(LogRotator.RotateIfOver(_path, 5, 3), Is.True);

        Assert.Multiple(() =>
        {
            Assert.That(Files(), Is.EqualTo(new[] { "container.log", "container.log.1", "container.log.2" }));
            Assert.That(File.ReadAllText(_path), Is.Empty);
            Assert.That(File.ReadAllText(_path + ".1"), Is.EqualTo("current!"));
            Assert.That(File.ReadAllText(_path + ".2"), Is.EqualTo("older"));
            Assert.That(File.GetLastWriteTimeUtc(_path + ".1"), Is.EqualTo(written), "since chooses files by it");
        });
    }

    [Test]
    public void With_max_files_1_the_log_is_only_truncated()
    {
        File.WriteAllText(_path, "current!");

        Assert.That(LogRotator.RotateIfOver(_path, 5, 1), Is.True);

        Assert.That(Files(), Is.EqualTo(new[] { "container.log" }));
        Assert.That(File.ReadAllText(_path), Is.Empty);
    }

    [Test]
    public async Task A_writer_that_holds_the_file_with_O_APPEND_writes_on_at_the_new_end()
    {
        // As the shim: one descriptor opened for appending (the shell's >>), never reopened across the rotation.
        var start = new System.Diagnostics.ProcessStartInfo("/bin/sh", ["-c", $"exec 3>>'{_path}'; echo 'first line' >&3; read go; echo 'second line' >&3"])
        {
            RedirectStandardInput = true,
        };
        using var shim = System.Diagnostics.Process.Start(start)!;
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            while (!File.Exists(_path) || new FileInfo(_path).Length == 0)
            {
                await Task.Delay(10, bound.Token);
            }

            Assert.That(LogRotator.RotateIfOver(_path, 5, 2), Is.True);
            await shim.StandardInput.WriteLineAsync("go");
            await shim.StandardInput.FlushAsync(bound.Token);
            await shim.WaitForExitAsync(bound.Token);
        }
        finally
        {
            if (!shim.HasExited)
            {
                shim.Kill();
            }
        }

        Assert.That(File.ReadAllText(_path + ".1"), Is.EqualTo("first line\n"));
        Assert.That(File.ReadAllText(_path), Is.EqualTo("second line\n"), "written at 0, not after a hole where the old content was");
    }

    [Test]
    public void A_check_rotates_the_watched_logs_over_their_max_and_no_longer_those_forgotten()
    {
        var other = Path.Combine(_directory, "other.log");
        File.WriteAllText(_path, "0123456789");
        File.WriteAllText(other, "0123456789");
        using var rotator = new LogRotator(TimeProvider.System);
        rotator.Watch("web", _path, 4, 2);
        rotator.Watch("other", other, 4, 2);
        rotator.Watch("small", Path.Combine(_directory, "small.log"), 1024, 2);
        rotator.Forget("other");

        Assert.That(rotator.CheckNow(), Is.EqualTo(new[] { "web" }));
        Assert.That(rotator.CheckNow(), Is.Empty);
        Assert.That(File.ReadAllText(other), Is.EqualTo("0123456789"));
    }

    [Test]
    public void Watching_needs_a_positive_max_size_and_at_least_one_file()
    {
        using var rotator = new LogRotator(TimeProvider.System);

        Assert.That(() => rotator.Watch("web", _path, 0, 3), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => rotator.Watch("web", _path, 10, 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public async Task Once_started_it_checks_on_its_interval_of_the_clock_it_is_given()
    {
        var clock = new FakeTimeProvider();
        using var rotator = new LogRotator(clock, TimeSpan.FromSeconds(5));
        File.WriteAllText(_path, "0123456789");
        rotator.Watch("web", _path, 4, 2);
        rotator.Start(CancellationToken.None);

        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!File.Exists(_path + ".1"))
        {
            // The loop may not wait on the clock yet when first advanced: advancing again is harmless.
            clock.Advance(TimeSpan.FromSeconds(5));
            await Task.Delay(10, bound.Token);
        }

        Assert.That(File.ReadAllText(_path + ".1"), Is.EqualTo("0123456789"));
        Assert.That(() => rotator.Start(CancellationToken.None), Throws.InvalidOperationException);
    }

    [TestCase("4096", 4096L)]
    [TestCase("512k", 512L * 1024)]
    [TestCase("10m", 10L * 1024 * 1024)]
    [TestCase("1g", 1024L * 1024 * 1024)]
    public void A_size_reads_as_Docker_reads_it(string value, long bytes)
    {
        Assert.That(LogSize.TryParse(value, out var parsed), Is.True);
        Assert.That(parsed, Is.EqualTo(bytes));
        Assert.That(LogSize.Parse(value), Is.EqualTo(bytes));
    }

    [TestCase("")]
    [TestCase("0")]
    [TestCase("10M")]
    [TestCase("10mb")]
    [TestCase("-1")]
    [TestCase("1.5m")]
    [TestCase("99999999999999999g")]
    public void Anything_else_is_not_a_size(string value)
    {
        Assert.That(LogSize.TryParse(value, out _), Is.False);
        Assert.That(() => LogSize.Parse(value), Throws.InstanceOf<FormatException>().With.Message.Contains(value));
    }
}
