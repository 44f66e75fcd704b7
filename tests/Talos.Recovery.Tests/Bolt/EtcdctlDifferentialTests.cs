using System.Collections.Concurrent;
using System.Text.Json;
using Talos.Recovery.Tests.Bolt.Support;

namespace Talos.Recovery.Tests.Bolt;

/// <summary>
/// Differential test against etcdctl 3.4.23 (bbolt 1.3.6) on randomly damaged files: whatever etcdctl cannot read
/// (error or crash) the checker must reject, and when both accept a file they must print the same status.
/// The checker may reject more (it checks what bbolt skips). etcdctl runs that hang (bbolt loops on some cycles)
/// are inconclusive.
/// </summary>
[TestFixture]
public sealed class EtcdctlDifferentialTests
{
    private const int MutationsPerBase = 50;

    public static IEnumerable<string> Bases() => ["workhorse-nofreelist", "workhorse-synced", "inline-heavy-synced"];

    private static BoltFile Base(string name) => name switch
    {
        "workhorse-nofreelist" => BoltFixtures.Workhorse(),
        "workhorse-synced" => BoltFixtures.Workhorse(FreelistMode.Synced),
        _ => BoltFixtures.InlineHeavy(FreelistMode.Synced, trailer: false, buckets: 120, seed: 31),
    };

    [TestCaseSource(nameof(Bases))]
    public void Checker_rejects_what_etcdctl_cannot_read_and_agrees_on_what_both_read(string name)
    {
        var f = Base(name);
        BoltFileBuilderTests.RunEtcdctlStatus(f.Bytes, out _, out var baseExit);
        Assert.That(baseExit, Is.Zero, "base file readable by etcdctl");

        var seedBase = (Bases().ToList().IndexOf(name) + 1) * 10_000_000;
        var failures = new ConcurrentQueue<string>();
        int bothAccept = 0, bothReject = 0, onlyChecker = 0, hung = 0;
        Parallel.For(0, MutationsPerBase, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            var m = Mutator.Apply(f, seedBase + i);
            var bytes = m.Memory.ToArray();
            var outcome = CheckerAssert.Check(bytes, skipHashCheck: true);
            var json = BoltFileBuilderTests.RunEtcdctlStatus(bytes, out var stderr, out var exit, timeoutMilliseconds: 2000);
            var etcdctlAccepts = exit == 0;
            if (exit == BoltFileBuilderTests.EtcdctlHung)
            {
                // bbolt loops forever on some cycles; under heavy machine load a slow run looks the same, so a hang
                // is inconclusive rather than a verdict. The checker must still not hang (MutationTests).
                Interlocked.Increment(ref hung);
                return;
            }

            if (!etcdctlAccepts)
            {
                if (outcome.Rejected)
                {
                    Interlocked.Increment(ref bothReject);
                }
                else
                {
                    failures.Enqueue($"{name} {m}: etcdctl exit {exit} ({FirstLine(stderr)}), checker accepted: {outcome}");
                }

                return;
            }

            if (outcome.Rejected)
            {
                Interlocked.Increment(ref onlyChecker);
                return;
            }

            Interlocked.Increment(ref bothAccept);
            using var doc = JsonDocument.Parse(json);
            var r = doc.RootElement;
            var s = outcome.Verification!.Status!;
            if (r.GetProperty("hash").GetUInt32() != s.Hash || r.GetProperty("revision").GetInt64() != s.Revision
                || r.GetProperty("totalKey").GetInt64() != s.TotalKey || r.GetProperty("totalSize").GetInt64() != s.TotalSize)
            {
                failures.Enqueue($"{name} {m}: status differs: etcdctl {json.Trim()} vs checker hash {s.Hash} revision {s.Revision} totalKey {s.TotalKey} totalSize {s.TotalSize}");
            }
        });

        TestContext.Out.WriteLine($"{name}: both accept {bothAccept}, both reject {bothReject}, only the checker rejects {onlyChecker}, etcdctl hung {hung}");
        Assert.That(failures, Is.Empty, () => string.Join("\n", failures.Take(20)));
    }

    private static string FirstLine(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.FirstOrDefault(l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("panic", StringComparison.Ordinal) || l.StartsWith("unexpected", StringComparison.Ordinal) || l.StartsWith("fatal", StringComparison.Ordinal)) ?? lines.FirstOrDefault() ?? string.Empty;
    }
}
