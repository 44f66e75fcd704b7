using Talos.Recovery.Tests.Integration;

namespace Talos.Recovery.Tests.Cli;

/// <summary><c>talos-recovery drill</c> end to end (simulator, real etcd).</summary>
[NonParallelizable]
public class CliDrillTests
{
    [Test]
    public async Task The_drill_restores_a_single_node_from_a_raw_copy_and_prints_matching_content_side_by_side()
    {
        EtcdRequirement.Require();
        var temp = Path.GetTempPath();
        var before = Directory.GetDirectories(temp, "talos-recovery-drill-*").ToHashSet();

        var run = await CliRunner.RunAsync("drill", "--nodes", "1", "--from", "raw-copy", "--keys", "200");

        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        var line = run.Stdout.Split('\n').Single(l => l.StartsWith("digest", StringComparison.Ordinal));
        var digests = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(digests, Has.Length.EqualTo(3));
        Assert.That(digests[1], Is.EqualTo(digests[2]).And.Length.EqualTo(64));
        Assert.That(run.Stdout, Does.Contain("drill passed").And.Contain("skipped (raw copy without trailer)"));
        Assert.That(Directory.GetDirectories(temp, "talos-recovery-drill-*").Where(d => !before.Contains(d)), Is.Empty, "the drill removes its files");
    }

    [Test]
    public async Task The_drill_refuses_other_node_counts()
    {
        var run = await CliRunner.RunAsync("drill", "--nodes", "2");

        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("invalid value \"2\" for --nodes: use 3 or 1"));
    }
}
