using System.Globalization;
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Benchmarks;

/// <summary>
/// Ingest: a valid snapshot held in memory, streamed into <see cref="SnapshotWriter"/> as 32 KiB chunks (etcd's
/// Maintenance.Snapshot) and 1 KiB chunks (Talos's EtcdSnapshot), end to end: pipe, SHA-256, disk writes, the full
/// structural check, fsync of file and directory, rename. Targets: ≥ 1 GB/s with 32 KiB chunks, ≥ 400 MB/s with
/// 1 KiB chunks, and an allocation per operation that does not grow with the number of chunks.
/// <c>Target</c> "disk" writes to the temp directory (fsync reaches the device); "tmpfs" writes to /dev/shm
/// (fsync is free), which isolates the writer's own cost. The snapshot comes from <c>TALOS_RECOVERY_BENCH_SNAPSHOT</c>.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
public class SnapshotWriterBenchmarks
{
    private byte[] _snapshot = null!;
    private string _directory = null!;
    private string _destination = null!;
    private SnapshotWriter _writer = null!;

    [Params(32 * 1024, 1024)]
    public int ChunkSize { get; set; }

    [Params("disk", "tmpfs")]
    public string Target { get; set; } = "disk";

    [GlobalSetup]
    public void Setup()
    {
        var path = BenchmarkData.SnapshotPath();
        _snapshot = File.ReadAllBytes(path);
        using (var file = SnapshotFile.FromMemory(_snapshot))
        {
            Console.WriteLine($"// snapshot: {path}, {_snapshot.Length} bytes, {file.GetStatus()}");
        }

        var root = Target == "tmpfs" && Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        _directory = Path.Combine(root, $"talos-recovery-writer-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(_directory);
        _destination = Path.Combine(_directory, "etcd.snapshot");
        _writer = new SnapshotWriter(new SnapshotWriterOptions { Overwrite = true });
    }

    [IterationSetup]
    public void RemovePrevious() => File.Delete(_destination);

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_directory, recursive: true);

    [Benchmark(Description = "write snapshot")]
    public Task<SnapshotInfo> Write() => _writer.WriteAsync(_destination, Chunks(_snapshot, ChunkSize));

    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> Chunks(byte[] data, int chunkSize, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (var offset = 0; offset < data.Length; offset += chunkSize)
        {
            yield return data.AsMemory(offset, Math.Min(chunkSize, data.Length - offset));
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <summary>Adds MB/s (10^6 bytes per second of the snapshot's length) to the summary.</summary>
    private sealed class ThroughputConfig : ManualConfig
    {
        public ThroughputConfig() => AddColumn(new ThroughputColumn());
    }

    private sealed class ThroughputColumn : IColumn
    {
        public string Id => "Throughput";

        public string ColumnName => "MB/s";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "Snapshot bytes per second of mean time, in 10^6 bytes";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var statistics = summary[benchmarkCase]?.ResultStatistics;
            if (statistics is null)
            {
                return "-";
            }

            var length = new FileInfo(BenchmarkData.SnapshotPath()).Length;
            return (length / (statistics.Mean / 1e9) / 1e6).ToString("F0", CultureInfo.InvariantCulture);
        }

        public bool IsAvailable(Summary summary) => true;

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    }
}
