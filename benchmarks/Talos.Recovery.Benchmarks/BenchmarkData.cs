namespace Talos.Recovery.Benchmarks;

/// <summary>Where the benchmarks find their snapshot.</summary>
internal static class BenchmarkData
{
    public const string SnapshotVariable = "TALOS_RECOVERY_BENCH_SNAPSHOT";

    public static string SnapshotPath()
    {
        var path = Environment.GetEnvironmentVariable(SnapshotVariable);
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            throw new InvalidOperationException($"set {SnapshotVariable} to an etcd snapshot file (benchmarks/compare-etcdctl.sh builds and caches one)");
        }

        return path;
    }
}
