using System.Collections.Concurrent;
using Talos.Recovery.Testing.Drill;
using Talos.Recovery.Tests.Cli;

namespace Talos.Recovery.Tests.Drill;

/// <summary>
/// The recovery drill end to end on the simulator (real etcd): the library entry point for the default drill (3 nodes, two
/// lose their data, backup from a snapshot) and the CLI for a single node restored from a raw copy. Each run takes 10–30 s.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class RecoveryDrillTests
{
    [Test]
    [CancelAfter(180_000)]
    public async Task The_default_drill_restores_exactly_the_data_of_the_backup_and_removes_its_files(CancellationToken cancellationToken)
    {
        var directory = Path.Combine(Path.GetTempPath(), "drill-test-" + Guid.NewGuid().ToString("N")[..8]);
        var lines = new ConcurrentQueue<string>();
        var options = new RecoveryDrillOptions { WorkingDirectory = directory, Keys = 500, Progress = new Lines(lines) };

        var result = await RecoveryDrill.RunAsync(options, cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(result.Succeeded, Is.True, string.Join("\n", lines));
            Assert.That(result.AtBackup.Keys, Is.EqualTo(500));
            Assert.That(result.Restored.Revision, Is.EqualTo(result.AtBackup.Revision));
            Assert.That(result.Phases.Select(p => p.Name), Is.SupersetOf(new[] { "backup", "assess", "reset", "wait for Preparing", "upload", "bootstrap", "wait healthy", "members joined" }));
            Assert.That(lines, Has.Some.Contains("backup: EtcdSnapshot"));
            Assert.That(Directory.Exists(directory), Is.False, "the drill removes the directory it created");
        });
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task The_cli_drill_from_a_raw_copy_on_one_node_prints_both_columns_and_exits_0(CancellationToken cancellationToken)
    {
        var run = await CliRunner.RunAsync(CliApp().CreateRoot(), ["drill", "--nodes", "1", "--from", "raw-copy", "--keys", "300"], debug: false, cancellationToken);

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        var revision = run.Stdout.Split('\n').Single(l => l.StartsWith("revision ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var keys = run.Stdout.Split('\n').Single(l => l.StartsWith("keys ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Multiple(() =>
        {
            Assert.That(run.Stdout, Does.Contain("backup: RawCopy"));
            Assert.That(run.Stdout, Does.Contain("trailer no"));
            Assert.That(revision[1], Is.EqualTo(revision[2]));
            Assert.That(keys[1..], Is.EqualTo(new[] { "300", "300" }));
            Assert.That(run.Stdout, Does.Contain("drill passed"));
        });
    }

    [TestCase("--nodes", "2")]
    [TestCase("--from", "tape")]
    [TestCase("--keys", "0")]
    public async Task Drill_usage_errors_exit_with_2_before_starting_anything(string option, string value)
    {
        var run = await CliRunner.RunAsync("drill", option, value);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.Stdout, Does.Not.Contain("starting a simulated cluster"));
    }

    private static RootFactory CliApp() => new();

    private sealed class RootFactory
    {
        public Talos.Recovery.Cli.CommandLine.CliCommand CreateRoot() => Talos.Recovery.Cli.CliApp.CreateRootCommand();
    }

    private sealed class Lines(ConcurrentQueue<string> lines) : IProgress<string>
    {
        public void Report(string value) => lines.Enqueue(value);
    }
}
