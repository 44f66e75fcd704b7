using System.Diagnostics;
using System.Globalization;
using Talos.Recovery.Client;
using Talos.Recovery.Snapshots;
using Talos.Recovery.Testing.Certificates;

namespace Talos.Recovery.Benchmarks;

/// <summary>
/// <c>simsnapshot [--keys N] [--value-size B] [--runs R] [--key-type Ed25519|EcdsaP256] [--replay true|false]</c>: Talos's EtcdSnapshot
/// through the simulator (in a child process, see <see cref="SimulatorServer"/>) over loopback mTLS into /dev/shm,
/// with the saved file fully verified by the writer. Per key type: the cold start (a fresh client's first call, TLS
/// handshake included: Version, then a fresh client's first EtcdSnapshot), then R warm snapshots on one client with
/// wall time, MB/s (10^6 bytes), CPU seconds of the client process, of the simulator process and of its etcd, and
/// the client's allocated bytes per 1 KiB message (all threads of the client process). <c>--replay true</c> serves the
/// warm runs from the simulator's in-memory copy of the first snapshot (no etcd in the loop).
/// </summary>
internal static class SimulatorSnapshotProfile
{
    public static async Task<int> RunAsync(string[] args)
    {
        int keys = 100_000, valueSize = 1024, runs = 5;
        var replay = false;
        var types = new List<TalosKeyAlgorithm> { TalosKeyAlgorithm.EcdsaP256, TalosKeyAlgorithm.Ed25519 };
        for (var i = 1; i < args.Length - 1; i++)
        {
            switch (args[i])
            {
                case "--keys": keys = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--value-size": valueSize = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--replay": replay = args[++i] == "true"; break;
                case "--key-type": types = [Enum.Parse<TalosKeyAlgorithm>(args[++i])]; break;
            }
        }

        var dir = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"talos-recovery-simsnap-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        var destination = Path.Combine(dir, "etcd.snapshot");
        Console.WriteLine($"uptime: {File.ReadAllText("/proc/loadavg").Trim()}; {Environment.ProcessorCount} cores");
        try
        {
            foreach (var type in types)
            {
                await using var server = await SimulatorServer.StartAsync(type, keys, valueSize, replay).ConfigureAwait(false);
                var config = TalosConfig.Load(server.ConfigPath);

                var watch = Stopwatch.StartNew();
                using (var cold = TalosClient.FromConfig(config))
                {
                    await cold.VersionAsync(server.Node).ConfigureAwait(false);
                    var first = watch.Elapsed.TotalMilliseconds;
                    watch.Restart();
                    await cold.VersionAsync(server.Node).ConfigureAwait(false);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{type}: cold start, first Version (fresh client, handshake included) {first:F1} ms; second Version {watch.Elapsed.TotalMilliseconds:F1} ms"));
                }

                watch.Restart();
                using (var fresh = TalosClient.FromConfig(config))
                {
                    await fresh.VersionAsync(server.Node).ConfigureAwait(false);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{type}: another fresh client's first Version (handshake included, code already JIT-compiled) {watch.Elapsed.TotalMilliseconds:F1} ms"));
                }

                File.Delete(destination);
                watch.Restart();
                using (var cold = TalosClient.FromConfig(config))
                {
                    var info = await cold.EtcdSnapshotAsync(destination, server.Node).ConfigureAwait(false);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{type}: cold start, first EtcdSnapshot on a fresh client {watch.Elapsed.TotalMilliseconds:F0} ms for {info.Length} bytes; trailer {info.Trailer}, {info.Status}"));
                }

                using var client = TalosClient.FromConfig(config);
                var results = new List<(double Seconds, double Client, double Simulator, double Etcd, double AllocPerMessage, long Length)>();
                for (var run = 0; run < runs; run++)
                {
                    File.Delete(destination);
                    GC.Collect();
                    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
                    var (sim0, etcd0) = server.CpuSeconds();
                    var alloc0 = GC.GetTotalAllocatedBytes(precise: true);
                    watch.Restart();
                    SnapshotInfo info = await client.EtcdSnapshotAsync(destination, server.Node).ConfigureAwait(false);
                    var seconds = watch.Elapsed.TotalSeconds;
                    var alloc = GC.GetTotalAllocatedBytes(precise: true) - alloc0;
                    var cpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - cpu0;
                    var (sim1, etcd1) = server.CpuSeconds();
                    var length = new FileInfo(destination).Length;
                    var messages = (length + 1023) / 1024;
                    results.Add((seconds, cpu, sim1 - sim0, etcd1 - etcd0, (double)alloc / messages, length));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  run {run + 1}: {seconds * 1000:F0} ms, {length / seconds / 1e6:F0} MB/s; CPU s: client {cpu:F2}, simulator {sim1 - sim0:F2}, etcd {etcd1 - etcd0:F2}; client allocated {alloc} B = {(double)alloc / messages:F1} B per message (~{messages} messages); trailer {info.Trailer}, {info.Status}"));
                }

                var median = results.OrderBy(r => r.Seconds).ElementAt(results.Count / 2);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{type}: median {median.Seconds * 1000:F0} ms = {median.Length / median.Seconds / 1e6:F0} MB/s of {median.Length} bytes; CPU s client {median.Client:F2} / simulator {median.Simulator:F2} / etcd {median.Etcd:F2}; {median.AllocPerMessage:F1} client B/message"));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        Console.WriteLine($"uptime: {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }
}
