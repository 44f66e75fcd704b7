using System.Runtime.InteropServices;
using Talos.Recovery.Client.Etcd;
using Talos.Recovery.Snapshots;
using Talos.Recovery.Testing.Etcd;
using Talos.Recovery.Tests.Cli;

namespace Talos.Recovery.Tests.Integration.Transfer;

/// <summary>
/// End to end: a snapshot streamed from a real etcd through <see cref="EtcdClient"/> into <see cref="SnapshotWriter"/>,
/// and through <c>talos-recovery etcd snapshot save</c>; compared with etcdctl, and with the member killed, stopped
/// (SIGSTOP) and the transfer cancelled mid-stream.
/// </summary>
[TestFixture]
[NonParallelizable]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class EtcdSnapshotSaveTests
{
    private const int SIGCONT = 18;
    private const int SIGSTOP = 19;

    private EtcdCluster _etcd = null!;
    private string _work = null!;

    [OneTimeSetUp]
    public async Task StartEtcd()
    {
        EtcdRequirement.Require();
        _etcd = await EtcdCluster.StartAsync();

        // ~32 MB of values: far more than socket buffers and HTTP/2 windows hold, so a fault injected after the first
        // bytes lands mid-stream.
        await _etcd.Client.PutManyAsync(EtcdTestData.Sequential("/bulk/", 16_000, 2048));
        _work = Directory.CreateTempSubdirectory("talos-recovery-save-tests-").FullName;
    }

    [OneTimeTearDown]
    public async Task StopEtcd()
    {
        if (_etcd is not null)
        {
            await _etcd.DisposeAsync();
        }

        if (_work is not null)
        {
            Directory.Delete(_work, recursive: true);
        }
    }

    private EtcdClient CreateClient() => new(new EtcdClientOptions { Endpoints = { _etcd.Members[0].Endpoint } });

    private static SnapshotWriterOptions FaultOptions() => new()
    {
        ProgressInterval = TimeSpan.Zero,
        WriteSize = 64 * 1024,
    };

    private string NewPath(string name) => Path.Combine(_work, Guid.NewGuid().ToString("N")[..8] + "-" + name);

    private static void AssertNothingLeft(string path)
    {
        Assert.That(File.Exists(path), Is.False, "destination must not exist");
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + "*"), Is.Empty, "no .part or other leftovers");
    }

    [Test]
    public async Task Saved_status_equals_etcdctl_status_of_the_file_and_of_an_etcdctl_save_at_the_same_revision()
    {
        var ours = NewPath("ours.db");
        var theirs = NewPath("etcdctl.db");

        using var client = CreateClient();
        var info = await new SnapshotWriter().WriteAsync(ours, client.SnapshotAsync());
        await _etcd.Etcdctl.WithEndpoints(_etcd.Members[0].Endpoint).SnapshotSaveAsync(theirs);

        var ourStatus = await _etcd.Etcdctl.SnapshotStatusJsonAsync(ours);
        var theirStatus = await _etcd.Etcdctl.SnapshotStatusJsonAsync(theirs);

        Assert.Multiple(() =>
        {
            Assert.That(info.HasTrailer, Is.True);
            Assert.That(info.Length, Is.EqualTo(new FileInfo(ours).Length));
            Assert.That((info.Status.Hash, info.Status.Revision, info.Status.TotalKey, info.Status.TotalSize),
                Is.EqualTo((ourStatus.Hash, ourStatus.Revision, ourStatus.TotalKey, ourStatus.TotalSize)), "ours vs etcdctl status of our file");
            Assert.That((ourStatus.Hash, ourStatus.Revision, ourStatus.TotalKey, ourStatus.TotalSize),
                Is.EqualTo((theirStatus.Hash, theirStatus.Revision, theirStatus.TotalKey, theirStatus.TotalSize)), "our file vs etcdctl's save");
            Assert.That(new FileInfo(ours).Length, Is.EqualTo(new FileInfo(theirs).Length));
        });
    }

    [Test]
    public async Task Cancellation_mid_stream_throws_OperationCanceledException_and_leaves_nothing()
    {
        var path = NewPath("cancelled.db");
        using var cts = new CancellationTokenSource();
        using var client = CreateClient();
        var progress = new InlineProgress(p =>
        {
            if (p.BytesTransferred > 0)
            {
                cts.Cancel();
            }
        });

        var ex = Assert.CatchAsync<OperationCanceledException>(
            () => new SnapshotWriter(FaultOptions()).WriteAsync(path, client.SnapshotAsync(cts.Token), progress, cts.Token));
        Assert.That(ex!.CancellationToken, Is.EqualTo(cts.Token));
        AssertNothingLeft(path);
    }

    [Test]
    public async Task A_stopped_member_trips_the_inactivity_timeout_with_reason_Stalled()
    {
        var path = NewPath("stalled.db");
        var pid = _etcd.Members[0].ProcessId ?? throw new InvalidOperationException("etcd is not running");
        var stopped = 0;
        using var client = CreateClient();
        var options = FaultOptions();
        options.InactivityTimeout = TimeSpan.FromSeconds(2);
        var progress = new InlineProgress(p =>
        {
            if (p.BytesTransferred > 0 && Interlocked.Exchange(ref stopped, 1) == 0)
            {
                Assert.That(Kill(pid, SIGSTOP), Is.Zero);
            }
        });

        try
        {
            var started = DateTime.UtcNow;
            var ex = Assert.ThrowsAsync<SnapshotTransferException>(
                () => new SnapshotWriter(options).WriteAsync(path, client.SnapshotAsync(), progress));
            Assert.That(ex!.Reason, Is.EqualTo(SnapshotTransferFailure.Stalled), ex.ToString());
            Assert.That(ex.BytesReceived, Is.GreaterThan(0));
            Assert.That(DateTime.UtcNow - started, Is.LessThan(TimeSpan.FromSeconds(20)));
            AssertNothingLeft(path);
        }
        finally
        {
            _ = Kill(pid, SIGCONT);
        }

        await _etcd.WaitHealthyAsync();
    }

    [Test]
    public async Task A_member_killed_mid_stream_is_a_typed_error_and_leaves_nothing()
    {
        var path = NewPath("killed.db");
        var member = _etcd.Members[0];
        var killed = 0;
        using var client = CreateClient();
        var progress = new InlineProgress(p =>
        {
            if (p.BytesTransferred > 0 && Interlocked.Exchange(ref killed, 1) == 0)
            {
                member.Kill();
            }
        });

        try
        {
            var ex = Assert.ThrowsAsync<SnapshotTransferException>(
                () => new SnapshotWriter(FaultOptions()).WriteAsync(path, client.SnapshotAsync(), progress));
            Assert.That(ex!.Reason, Is.AnyOf(SnapshotTransferFailure.SourceFailed, SnapshotTransferFailure.Truncated), ex.ToString());
            Assert.That(ex.BytesReceived, Is.GreaterThan(0));
            AssertNothingLeft(path);
        }
        finally
        {
            await _etcd.StartStoppedMembersAsync();
        }
    }

    [Test]
    public async Task Cli_save_prints_the_two_lines_and_the_file_verifies()
    {
        var path = NewPath("cli.db");
        var run = await CliRunner.RunAsync("etcd", "snapshot", "save", path, "--endpoints", _etcd.Members[0].ClientUrl.ToString(), "--inactivity-timeout", "20s");
        Assert.That(run.ExitCode, Is.Zero, run.ToString());

        var status = await _etcd.Etcdctl.SnapshotStatusJsonAsync(path);
        Assert.Multiple(() =>
        {
            Assert.That(run.Stdout, Is.EqualTo(
                $"Snapshot saved at {path}\n" +
                $"snapshot info: hash {status.Hash:x8}, revision {status.Revision}, total keys {status.TotalKey}, total size {status.TotalSize}\n"));
            Assert.That(run.Stderr, Is.Empty, "no progress line when stderr is not a terminal");
        });

        using var file = SnapshotFile.Open(path);
        Assert.That(file.Verify(new SnapshotVerifyOptions()).IsValid, Is.True);

        var again = await CliRunner.RunAsync("etcd", "snapshot", "save", path, "--endpoints", _etcd.Members[0].Endpoint);
        Assert.That(again.ExitCode, Is.EqualTo(1), again.ToString());
        Assert.That(again.Stderr, Does.StartWith("Error: "));
    }

    [Test]
    public async Task Cli_usage_errors_exit_with_2()
    {
        var path = NewPath("usage.db");
        var missing = await CliRunner.RunAsync("etcd", "snapshot", "save", path);
        var badDuration = await CliRunner.RunAsync("etcd", "snapshot", "save", path, "--endpoints", _etcd.Members[0].Endpoint, "--inactivity-timeout", "soon");
        Assert.Multiple(() =>
        {
            Assert.That(missing.ExitCode, Is.EqualTo(2), missing.ToString());
            Assert.That(missing.Stderr, Does.Contain("--endpoints"));
            Assert.That(badDuration.ExitCode, Is.EqualTo(2), badDuration.ToString());
        });
        Assert.That(File.Exists(path), Is.False);
    }

    [Test]
    public async Task Auth_enabled_etcd_with_root_credentials_works_through_the_library_and_the_cli()
    {
        await using var etcd = await EtcdCluster.StartAsync(new EtcdClusterOptions { EnableAuth = true });
        var endpoint = etcd.Members[0].Endpoint;

        var path = NewPath("auth.db");
        using (var client = new EtcdClient(new EtcdClientOptions { Endpoints = { endpoint }, Username = "root", Password = etcd.RootPassword }))
        {
            var info = await new SnapshotWriter().WriteAsync(path, client.SnapshotAsync());
            var etcdctl = await etcd.Etcdctl.SnapshotStatusJsonAsync(path);
            Assert.That((info.Status.Hash, info.Status.Revision, info.Status.TotalKey), Is.EqualTo((etcdctl.Hash, etcdctl.Revision, etcdctl.TotalKey)));
        }

        var cliPath = NewPath("auth-cli.db");
        var run = await CliRunner.RunAsync("etcd", "snapshot", "save", cliPath, "--endpoints", endpoint, "--user", "root", "--password", etcd.RootPassword!);
        Assert.That(run.ExitCode, Is.Zero, run.ToString());

        var denied = await CliRunner.RunAsync("etcd", "snapshot", "save", NewPath("denied.db"), "--endpoints", endpoint);
        Assert.That(denied.ExitCode, Is.EqualTo(1), denied.ToString());
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>Reports synchronously on the writer's thread (Progress&lt;T&gt; would post to the thread pool, too late).</summary>
    private sealed class InlineProgress(Action<SnapshotProgress> report) : IProgress<SnapshotProgress>
    {
        public void Report(SnapshotProgress value) => report(value);
    }
}
