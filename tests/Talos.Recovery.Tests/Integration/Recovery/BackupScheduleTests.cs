using Talos.Recovery.Client;
using Talos.Recovery.Recovery;
using Talos.Recovery.Testing.Etcd;
using Talos.Recovery.Testing.Simulator;

namespace Talos.Recovery.Tests.Integration.Recovery;

/// <summary>Scheduled backups with retention against the node simulator (real etcd behind the Talos machine API).</summary>
[TestFixture]
[NonParallelizable]
public sealed class BackupScheduleTests
{
    private TalosClusterSimulator _sim = null!;
    private TalosClient _client = null!;
    private RecoveryClient _recovery = null!;
    private string _directory = null!;

    [OneTimeSetUp]
    public async Task StartCluster()
    {
        EtcdRequirement.Require();
        _sim = await TalosClusterSimulator.StartAsync(new TalosSimulatorOptions { ControlPlanes = 1 });
        _client = TalosClient.FromConfig(_sim.CreateTalosConfig("os:admin"), options: new TalosClientOptions { CallTimeout = TimeSpan.FromSeconds(30) });
        _directory = Directory.CreateTempSubdirectory("talos-recovery-schedule-").FullName;
        _recovery = new RecoveryClient(_client, new RecoveryClientOptions
        {
            PollInterval = TimeSpan.FromMilliseconds(100),
            ObservationTimeout = TimeSpan.FromSeconds(5),
            ElectionSettleTime = TimeSpan.Zero,
            TemporaryDirectory = _directory,
        });
        using var etcd = new EtcdGatewayClient(_sim.ControlPlanes[0].EtcdClientUrl!);
        await etcd.PutManyAsync(EtcdTestData.KubernetesLike(100, 100));
    }

    [OneTimeTearDown]
    public async Task StopCluster()
    {
        _client.Dispose();
        await _sim.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Test]
    public async Task Retention_keeps_the_newest_sets_and_leaves_foreign_directories_alone()
    {
        var root = Path.Combine(_directory, "keep-last");
        Directory.CreateDirectory(Path.Combine(root, "backup-not-a-set"));
        Directory.CreateDirectory(Path.Combine(root, "other"));
        var schedule = new BackupSchedule(_recovery, new BackupScheduleOptions { Root = root, KeepLast = 2 });

        var outcomes = new List<BackupScheduleOutcome>();
        for (var i = 0; i < 3; i++)
        {
            outcomes.Add(await schedule.BackupNowAsync());
        }

        Assert.That(outcomes.Select(o => o.Succeeded), Is.All.True);
        Assert.That(outcomes[0].Removed, Is.Empty);
        Assert.That(outcomes[1].Removed, Is.Empty);
        Assert.That(outcomes[2].Removed, Is.EqualTo(new[] { outcomes[0].Backup!.Directory }));
        Assert.That(schedule.List().Select(s => s.Directory), Is.EqualTo(new[] { outcomes[2].Backup!.Directory, outcomes[1].Backup!.Directory }), "newest first");
        Assert.That(Path.GetFileName(outcomes[2].Backup!.Directory), Does.Match(@"^backup-\d{8}T\d{6}Z(-\d+)?$"));
        Assert.That(Directory.Exists(Path.Combine(root, "backup-not-a-set")), Is.True, "not a readable backup set: never removed");
        Assert.That(Directory.Exists(Path.Combine(root, "other")), Is.True);
        Assert.That(schedule.FindLatestVerified()!.Directory, Is.EqualTo(outcomes[2].Backup!.Directory));
    }

    [Test]
    public async Task A_damaged_newest_set_is_skipped_when_looking_for_the_latest_verified_one()
    {
        var root = Path.Combine(_directory, "damaged");
        var schedule = new BackupSchedule(_recovery, new BackupScheduleOptions { Root = root, KeepLast = 5 });
        var older = (await schedule.BackupNowAsync()).Backup!;
        var newer = (await schedule.BackupNowAsync()).Backup!;

        await using (var file = new FileStream(newer.SnapshotPath, FileMode.Open, FileAccess.Write))
        {
            file.Position = file.Length / 2;
            file.WriteByte(0x5A);
        }

        Assert.That(schedule.FindLatestVerified()!.Directory, Is.EqualTo(older.Directory));
    }

    [Test]
    public async Task KeepWithin_keeps_young_sets_beyond_KeepLast()
    {
        var root = Path.Combine(_directory, "keep-within");
        var generous = new BackupSchedule(_recovery, new BackupScheduleOptions { Root = root, KeepLast = 1, KeepWithin = TimeSpan.FromHours(1) });
        var outcomes = new List<BackupScheduleOutcome>();
        for (var i = 0; i < 3; i++)
        {
            outcomes.Add(await generous.BackupNowAsync());
        }

        Assert.That(outcomes.SelectMany(o => o.Removed), Is.Empty, "all three are younger than an hour");
        Assert.That(generous.List(), Has.Count.EqualTo(3));

        var strict = new BackupSchedule(_recovery, new BackupScheduleOptions { Root = root, KeepLast = 1 });
        var last = await strict.BackupNowAsync();
        Assert.That(last.Removed, Has.Count.EqualTo(3));
        Assert.That(strict.List().Single().Directory, Is.EqualTo(last.Backup!.Directory));
    }

    [Test]
    public async Task The_loop_reports_a_failed_attempt_keeps_every_older_set_and_retries()
    {
        var root = Path.Combine(_directory, "loop");
        var schedule = new BackupSchedule(_recovery, new BackupScheduleOptions
        {
            Root = root,
            KeepLast = 1,
            Interval = TimeSpan.FromMilliseconds(200),
            RetryInterval = TimeSpan.FromMilliseconds(100),
        });

        var good = (await schedule.BackupNowAsync()).Backup!;
        var node = _sim.ControlPlanes[0];
        await node.PowerOffAsync();
        var outcomes = new List<BackupScheduleOutcome>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await schedule.RunAsync(new SynchronousProgress(o =>
            {
                outcomes.Add(o);
                if (outcomes.Count == 2)
                {
                    node.PowerOnAsync().GetAwaiter().GetResult();
                }

                if (outcomes.Any(x => x.Succeeded))
                {
                    stop.Cancel();
                }
            }), stop.Token);
        }
        catch (OperationCanceledException)
        {
            // The loop ends only by cancellation.
        }

        Assert.That(outcomes.Count, Is.GreaterThanOrEqualTo(3), "two failures, then a success after power-on");
        Assert.That(outcomes[0].Succeeded, Is.False);
        Assert.That(outcomes[0].Error, Is.InstanceOf<TalosRecoveryException>());
        Assert.That(outcomes[0].Removed, Is.Empty, "no retention after a failure");
        Assert.That(outcomes[0].NextAttemptAt - outcomes[0].StartedAt, Is.EqualTo(TimeSpan.FromMilliseconds(100)), "failures retry after RetryInterval");
        var success = outcomes.First(o => o.Succeeded);
        Assert.That(success.Removed, Is.EqualTo(new[] { good.Directory }), "KeepLast 1: the older set goes once a newer one is verified");
        Assert.That(schedule.List().Single().Directory, Is.EqualTo(success.Backup!.Directory));
        Assert.That(BackupSet.Open(success.Backup.Directory).Status.Revision, Is.EqualTo(success.Backup.Status.Revision));
    }

    private sealed class SynchronousProgress(Action<BackupScheduleOutcome> report) : IProgress<BackupScheduleOutcome>
    {
        public void Report(BackupScheduleOutcome value) => report(value);
    }
}
