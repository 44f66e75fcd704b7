namespace Talos.Recovery.Benchmarks;

/// <summary>
/// Where the benchmarks find their snapshot: <c>TALOS_RECOVERY_BENCH_SNAPSHOT</c> when set (compare-etcdctl.sh sets
/// it to the cached ~800 MB dataset), otherwise a 20,000-key snapshot made once by a real etcd and cached under
/// <c>TALOS_RECOVERY_BENCH_CACHE</c> (default <c>~/.cache/talos-recovery/bench</c>).
/// </summary>
internal static class BenchmarkData
{
    public const string SnapshotVariable = "TALOS_RECOVERY_BENCH_SNAPSHOT";

    public static string SnapshotPath()
    {
        var path = Environment.GetEnvironmentVariable(SnapshotVariable);
        if (!string.IsNullOrEmpty(path))
        {
            return File.Exists(path) ? path : throw new FileNotFoundException($"{SnapshotVariable} names a missing file", path);
        }

        var cache = Environment.GetEnvironmentVariable("TALOS_RECOVERY_BENCH_CACHE")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "talos-recovery", "bench");
        Directory.CreateDirectory(cache);
        path = Path.Combine(cache, "etcd-20k-1KiB.snapshot");
        if (!File.Exists(path))
        {
            Dataset.BuildAsync(path, 20_000, 1024, CancellationToken.None).GetAwaiter().GetResult();
        }

        return path;
    }
}
