using Talos.Recovery.Testing.Simulator;

namespace Talos.Recovery.Tests.Cli;

/// <summary>`talos-recovery recover …` against the Talos node simulator (3 control planes, real etcd), in-process.</summary>
[TestFixture]
[NonParallelizable]
public sealed class CliRecoverTests
{
    private TalosClusterSimulator _simulator = null!;
    private string _directory = null!;
    private string _talosconfig = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _directory = Directory.CreateTempSubdirectory("cli-recover-").FullName;
        _simulator = await TalosClusterSimulator.StartAsync(new TalosSimulatorOptions { ControlPlanes = 3, RebootDelay = TimeSpan.FromMilliseconds(200) });
        _talosconfig = _simulator.WriteTalosConfig(Path.Combine(_directory, "talosconfig"), "os:admin");
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        await _simulator.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Test]
    [CancelAfter(240_000)]
    public async Task Assess_backup_plan_and_run_take_the_cluster_from_lost_quorum_back_to_its_data(CancellationToken cancellationToken)
    {
        var backup = Path.Combine(_directory, "backup");

        var assess = await RunAsync(cancellationToken, "recover", "assess");
        Assert.That(assess.ExitCode, Is.Zero, assess.ToString());
        Assert.That(assess.Stdout, Does.Contain("Healthy"));

        var save = await RunAsync(cancellationToken, "recover", "backup", backup);
        Assert.That(save.ExitCode, Is.Zero, save.ToString());
        Assert.That(save.Stdout, Does.Contain("backup set written to").And.Contain("snapshot info: hash "));
        Assert.That(File.Exists(Path.Combine(backup, "manifest.json")), Is.True);

        var refused = await RunAsync(cancellationToken, "recover", "plan", "--from", backup);
        Assert.That(refused.ExitCode, Is.EqualTo(1), refused.ToString());
        Assert.That(refused.Stderr, Does.Contain("Way forward"));
        Assert.That(refused.Stderr, Does.Not.Contain("   at "), "no stack trace for a refusal");

        foreach (var node in _simulator.ControlPlanes.Skip(1))
        {
            await node.LoseDataAsync(cancellationToken);
        }

        var plan = await RunAsync(cancellationToken, "recover", "plan", "--from", backup);
        Assert.That(plan.ExitCode, Is.Zero, plan.ToString());
        Assert.That(plan.Stdout, Does.Contain("dry run"));

        var unconfirmed = await RunAsync(cancellationToken, "recover", "run", "--from", backup);
        Assert.That(unconfirmed.ExitCode, Is.EqualTo(2), unconfirmed.ToString());
        Assert.That(unconfirmed.Stderr, Does.Contain("--yes"));

        var run = await RunAsync(cancellationToken, "recover", "run", "--from", backup, "--yes");
        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(run.Stdout, Does.Contain("recovered in"));
        Assert.That(_simulator.ControlPlanes.Select(n => n.EtcdClientUrl), Has.All.Not.Null, "etcd runs on every node again");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Schedule_once_takes_a_set_and_applies_retention(CancellationToken cancellationToken)
    {
        var root = Path.Combine(_directory, "scheduled");
        var first = await RunAsync(cancellationToken, "recover", "schedule", root, "--once", "--keep", "1");
        Assert.That(first.ExitCode, Is.Zero, first.ToString());
        Assert.That(first.Stdout, Does.Contain("backup set written to").And.Contain("revision"));
        var second = await RunAsync(cancellationToken, "recover", "schedule", root, "--once", "--keep", "1");
        Assert.That(second.ExitCode, Is.Zero, second.ToString());
        Assert.That(second.Stdout, Does.Contain("retention removed"));
        Assert.That(Directory.GetDirectories(root, "backup-*"), Has.Length.EqualTo(1));

        var usage = await RunAsync(cancellationToken, "recover", "schedule", root, "--keep", "0");
        Assert.That(usage.ExitCode, Is.Not.Zero);
        Assert.That(usage.Stderr, Does.Contain("--keep"));
    }

    [Test]
    public async Task An_unknown_etcd_volume_layout_is_a_usage_error()
    {
        var run = await RunAsync(CancellationToken.None, "recover", "plan", "--from", _directory, "--etcd-volume", "sideways");
        Assert.That(run.ExitCode, Is.Not.Zero);
        Assert.That(run.Stderr, Does.Contain("--etcd-volume must be auto, separate or ephemeral"));
    }

    [Test]
    public async Task Plan_without_from_is_a_usage_error()
    {
        var run = await RunAsync(CancellationToken.None, "recover", "plan");

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.Stderr, Does.Contain("--from"));
    }

    private Task<CliRun> RunAsync(CancellationToken cancellationToken, params string[] args)
        => CliRunner.RunAsync(Talos.Recovery.Cli.CliApp.CreateRootCommand(), [.. args, "--talosconfig", _talosconfig], debug: false, cancellationToken);
}
