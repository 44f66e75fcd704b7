using BenchmarkDotNet.Attributes;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Benchmarks;

/// <summary>
/// Check + status (what <c>snapshot status</c> does), full verification (check + status + SHA-256 trailer) and
/// inspection of one etcd snapshot. The file comes from <c>TALOS_RECOVERY_BENCH_SNAPSHOT</c> (compare-etcdctl.sh
/// sets it to the cached ~800 MB dataset) or, when unset, a snapshot of a few thousand keys made by a real etcd.
/// MemoryDiagnoser shows allocation per operation: it must not grow with pages or keys.
/// </summary>
[MemoryDiagnoser]
public class SnapshotAnalysisBenchmarks
{
    private SnapshotFile _snapshot = null!;

    [GlobalSetup]
    public void Setup()
    {
        var path = BenchmarkData.SnapshotPath();
        _snapshot = SnapshotFile.Open(path);
        Console.WriteLine($"// snapshot: {path}, {_snapshot.Length} bytes, {_snapshot.GetStatus()}");
    }

    [GlobalCleanup]
    public void Cleanup() => _snapshot.Dispose();

    [Benchmark(Baseline = true, Description = "check + status")]
    public SnapshotStatus Status() => _snapshot.GetStatus();

    [Benchmark(Description = "verify (check + status + SHA-256)")]
    public SnapshotVerification Verify() => _snapshot.Verify();

    [Benchmark(Description = "inspect")]
    public SnapshotInspection Inspect() => _snapshot.Inspect();
}
