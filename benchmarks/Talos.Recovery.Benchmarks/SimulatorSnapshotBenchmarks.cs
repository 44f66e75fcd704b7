using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Talos.Recovery.Client;
using Talos.Recovery.Snapshots;
using Talos.Recovery.Testing.Certificates;

namespace Talos.Recovery.Benchmarks;

/// <summary>
/// Issue 5 §8: <see cref="TalosClient.EtcdSnapshotAsync"/> through the simulator over loopback mTLS, 1 KiB
/// <c>common.Data</c> messages, into /dev/shm with the writer's full verification. <c>KeyType</c> EcdsaP256 takes
/// the SslStream path, Ed25519 the BouncyCastle TLS 1.3 path. The simulator (and its etcd) runs in a child process
/// (<see cref="SimulatorServer"/>), so the MemoryDiagnoser's figures are the client's alone. Targets: ≥ 300 MB/s
/// (ECDSA) and ≥ 200 MB/s (Ed25519). Data: <c>TALOS_RECOVERY_SIM_KEYS</c> (default 100,000) Kubernetes-like keys of
/// <c>TALOS_RECOVERY_SIM_VALUE_SIZE</c> (default 1024) bytes. The cold start is measured by the <c>simsnapshot</c> subcommand.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Throughput))]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 4, iterationCount: 9)]
public class SimulatorSnapshotBenchmarks
{
    private SimulatorServer _server = null!;
    private TalosClient _client = null!;
    private string _directory = null!;
    private string _destination = null!;

    [Params(TalosKeyAlgorithm.EcdsaP256, TalosKeyAlgorithm.Ed25519)]
    public TalosKeyAlgorithm KeyType { get; set; }

    /// <summary>"etcd": every call reads etcd's snapshot; "replay": the simulator replays its in-memory copy (client and transport only).</summary>
    [Params("etcd", "replay")]
    public string Source { get; set; } = "etcd";

    [GlobalSetup]
    public void Setup()
    {
        var keys = int.Parse(Environment.GetEnvironmentVariable("TALOS_RECOVERY_SIM_KEYS") ?? "100000", CultureInfo.InvariantCulture);
        var valueSize = int.Parse(Environment.GetEnvironmentVariable("TALOS_RECOVERY_SIM_VALUE_SIZE") ?? "1024", CultureInfo.InvariantCulture);
        _server = SimulatorServer.StartAsync(KeyType, keys, valueSize, Source == "replay").GetAwaiter().GetResult();
        _client = TalosClient.FromConfig(TalosConfig.Load(_server.ConfigPath));
        _directory = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"talos-recovery-sim-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(_directory);
        _destination = Path.Combine(_directory, "etcd.snapshot");
        var info = _client.EtcdSnapshotAsync(_destination, _server.Node).GetAwaiter().GetResult();
        Console.WriteLine($"// snapshot through the simulator: {info.Length} bytes, {info.Status}");
        File.WriteAllText(LengthFile(KeyType), info.Length.ToString(CultureInfo.InvariantCulture));
    }

    [IterationSetup]
    public void RemovePrevious() => File.Delete(_destination);

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Description = "EtcdSnapshot via simulator")]
    public Task<SnapshotInfo> Snapshot() => _client.EtcdSnapshotAsync(_destination, _server.Node);

    private static string LengthFile(TalosKeyAlgorithm keyType) => Path.Combine(Path.GetTempPath(), $"talos-recovery-sim-bench-{keyType}.length");

    /// <summary>Adds MB/s (10^6 bytes of the snapshot per second of mean time) to the summary.</summary>
    private sealed class Throughput : ManualConfig
    {
        public Throughput() => AddColumn(new Column());

        private sealed class Column : IColumn
        {
            public string Id => "SimThroughput";

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
                var keyType = benchmarkCase.Parameters["KeyType"] is TalosKeyAlgorithm k ? k : TalosKeyAlgorithm.Ed25519;
                var file = LengthFile(keyType);
                if (statistics is null || !File.Exists(file))
                {
                    return "-";
                }

                var length = long.Parse(File.ReadAllText(file), CultureInfo.InvariantCulture);
                return (length / (statistics.Mean / 1e9) / 1e6).ToString("F0", CultureInfo.InvariantCulture);
            }

            public bool IsAvailable(Summary summary) => true;

            public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        }
    }
}
