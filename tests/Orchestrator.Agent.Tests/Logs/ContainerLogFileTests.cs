using System.Text;
using Orchestrator.Agent.Runtime;
using Orchestrator.Agent.Runtime.Logs;
using Orchestrator.Agent.Sessions;
using Task = System.Threading.Tasks.Task;

namespace Orchestrator.Agent.Tests.Logs;

/// <summary>Reading a container's output file as containerd's shim writes it and the rotator rotates it.</summary>
internal sealed class ContainerLogFileTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private string _directory = null!;
    private string _path = null!;

    [SetUp]
    public void SetUp()
    {
        _directory = Directory.CreateTempSubdirectory("container-log-").FullName;
        _path = ContainerLogFile.PathOf(_directory, "web");
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_directory, recursive: true);

    private static Task<bool> Stopped(CancellationToken _) => Task.FromResult(false);

    private void Write(string file, string text, DateTime? written = null)
    {
        File.WriteAllText(file, text);
        if (written is { } time)
        {
            File.SetLastWriteTimeUtc(file, time);
        }
    }

    private async Task<string> ReadAllAsync(LogReadOptions options)
    {
        var text = new StringBuilder();
        await foreach (var chunk in ContainerLogFile.ReadAsync(_path, options, Stopped, CancellationToken.None))
        {
            Assert.That(chunk.Stream, Is.EqualTo(OutputStream.Stdout));
            text.Append(Encoding.UTF8.GetString(chunk.Bytes.Span));
        }

        return text.ToString();
    }

    [Test]
    public void The_file_is_per_container_under_the_logs_directory() =>
        Assert.That(ContainerLogFile.PathOf("/var/lib/orchestrator/containerd/logs", "web-1"), Is.EqualTo("/var/lib/orchestrator/containerd/logs/web-1/container.log"));

    [Test]
    public async Task The_rotated_files_are_read_oldest_first_then_the_live_one()
    {
        Write(_path + ".2", "one\n");
        Write(_path + ".1", "two\nthree\n");
        Write(_path, "four\n");

        Assert.That(await ReadAllAsync(new LogReadOptions(false, null, null, false)), Is.EqualTo("one\ntwo\nthree\nfour\n"));
    }

    [Test]
    public async Task No_file_yet_is_no_output() =>
        Assert.That(await ReadAllAsync(new LogReadOptions(false, null, null, false)), Is.Empty);

    [TestCase(0, "")]
    [TestCase(1, "five")]
    [TestCase(2, "four\nfive")]
    [TestCase(3, "three\nfour\nfive")]
    [TestCase(4, "two\nthree\nfour\nfive")]
    [TestCase(5, "one\ntwo\nthree\nfour\nfive")]
    [TestCase(50, "one\ntwo\nthree\nfour\nfive")]
    public async Task A_tail_counts_lines_over_all_the_files_and_a_last_line_without_its_newline_is_one(int tail, string expected)
    {
        Write(_path + ".2", "one\n");
        Write(_path + ".1", "two\nthree\n");
        Write(_path, "four\nfive");

        Assert.That(await ReadAllAsync(new LogReadOptions(false, tail, null, false)), Is.EqualTo(expected));
    }

    [Test]
    public async Task A_tail_that_ends_on_a_file_boundary_starts_at_the_next_file()
    {
        Write(_path + ".1", "one\ntwo\n");
        Write(_path, "three\n");

        Assert.That(await ReadAllAsync(new LogReadOptions(false, 1, null, false)), Is.EqualTo("three\n"));
        Assert.That(await ReadAllAsync(new LogReadOptions(false, 2, null, false)), Is.EqualTo("two\nthree\n"));
    }

    [Test]
    public async Task A_tail_longer_than_a_read_buffer_is_found()
    {
        var lines = Enumerable.Range(0, 5000).Select(i => $"line {i}\n").ToList();
        Write(_path, string.Concat(lines));

        Assert.That(await ReadAllAsync(new LogReadOptions(false, 2500, null, false)), Is.EqualTo(string.Concat(lines.Skip(2500))));
    }

    [Test]
    public async Task Since_reads_whole_files_last_written_at_or_after_it()
    {
        var since = new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
        Write(_path + ".2", "old\n", since.AddMinutes(-5));
        Write(_path + ".1", "written at since\n", since);
        Write(_path, "new\n", since.AddMinutes(5));

        Assert.That(await ReadAllAsync(new LogReadOptions(false, null, since, false)), Is.EqualTo("written at since\nnew\n"));
        Assert.That(await ReadAllAsync(new LogReadOptions(false, null, since.AddMinutes(10), false)), Is.Empty);
    }

    [Test]
    public async Task Following_reads_what_is_appended_and_through_a_copytruncate_until_the_container_stops()
    {
        Write(_path + ".1", "rotated\n");
        Write(_path, "before\n");
        var running = true;
        using var bound = new CancellationTokenSource(Bound);
        var chunks = ContainerLogFile.ReadAsync(_path, new LogReadOptions(true, null, null, false), _ => Task.FromResult(Volatile.Read(ref running)), bound.Token)
            .GetAsyncEnumerator(bound.Token);
        var text = new StringBuilder();

        async Task UntilAsync(string expected)
        {
            while (!text.ToString().EndsWith(expected, StringComparison.Ordinal))
            {
                Assert.That(await chunks.MoveNextAsync(), Is.True, $"ended before \"{expected}\"");
                text.Append(Encoding.UTF8.GetString(chunks.Current.Bytes.Span));
            }
        }

        await UntilAsync("before\n");
        File.AppendAllText(_path, "appended\n");
        await UntilAsync("appended\n");

        // The rotator copies and truncates; the shim (O_APPEND) goes on at the new end.
        Assert.That(LogRotator.RotateIfOver(_path, 1, 3), Is.True);
        File.AppendAllText(_path, "after\n");
        await UntilAsync("after\n");

        File.AppendAllText(_path, "last words\n");
        Volatile.Write(ref running, false);
        while (await chunks.MoveNextAsync())
        {
            text.Append(Encoding.UTF8.GetString(chunks.Current.Bytes.Span));
        }

        await chunks.DisposeAsync();
        Assert.That(text.ToString(), Is.EqualTo("rotated\nbefore\nappended\nafter\nlast words\n"));
    }

    [Test]
    public async Task Following_a_stopped_container_ends_at_the_end_of_its_file()
    {
        Write(_path, "all of it\n");

        Assert.That(await ReadAllAsync(new LogReadOptions(true, null, null, false)), Is.EqualTo("all of it\n"));
    }

    [Test]
    public async Task With_timestamps_lines_already_written_have_none_and_lines_followed_have_the_time_they_were_read()
    {
        Write(_path, "old\n");
        var calls = 0;
        using var bound = new CancellationTokenSource(Bound);

        // Running for the first look; something is written then; stopped after.
        Task<bool> IsRunning(CancellationToken _)
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                File.AppendAllText(_path, "new one\nnew two\n");
                return Task.FromResult(true);
            }

            return Task.FromResult(false);
        }

        var before = DateTimeOffset.UtcNow;
        var text = new StringBuilder();
        await foreach (var chunk in ContainerLogFile.ReadAsync(_path, new LogReadOptions(true, null, null, true), IsRunning, bound.Token))
        {
            text.Append(Encoding.UTF8.GetString(chunk.Bytes.Span));
        }

        var lines = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(3));
        Assert.That(lines[0], Is.EqualTo("old"));
        foreach (var (line, expected) in lines.Skip(1).Zip(["new one", "new two"]))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            Assert.That(LogLineSplitter.TryParseTimestamp(line[..space], out var time), Is.True, line);
            Assert.That(time.ToDateTimeOffset(), Is.GreaterThanOrEqualTo(before.AddSeconds(-1)));
            Assert.That(line[(space + 1)..], Is.EqualTo(expected));
        }
    }
}
