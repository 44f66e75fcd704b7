using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Benchmarks;

/// <summary>
/// <c>profile [--runs N] [--dir DIR]</c>: a quick breakdown of where the writer's time goes, on the benchmark
/// snapshot held in memory: the raw speed of each stage on its own (SHA-256 with IncrementalHash over 1 MiB spans,
/// a memory copy, pwrite into DIR, the structural check of the written file with the known digest) and the whole
/// writer with 32 KiB and 1 KiB chunks. Medians of N runs (default 3), MB = 10^6 bytes. Indicative only: the
/// BenchmarkDotNet benchmarks are the measurement of record.
/// </summary>
internal static class Profile
{
    public static async Task<int> RunAsync(string[] args)
    {
        var runs = 3;
        var dir = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        for (var i = 1; i < args.Length - 1; i++)
        {
            if (args[i] == "--runs")
            {
                runs = int.Parse(args[++i], CultureInfo.InvariantCulture);
            }
            else if (args[i] == "--dir")
            {
                dir = args[++i];
            }
        }

        var path = BenchmarkData.SnapshotPath();
        var data = await File.ReadAllBytesAsync(path).ConfigureAwait(false);
        var work = Path.Combine(dir, $"talos-recovery-profile-{Environment.ProcessId}");
        Directory.CreateDirectory(work);
        var destination = Path.Combine(work, "etcd.snapshot");
        Console.WriteLine($"snapshot {path}: {data.Length} bytes; writing under {work}; {runs} runs");
        try
        {
            Report("SHA-256 (IncrementalHash, 1 MiB spans)", data.Length, runs, () =>
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                for (var offset = 0; offset < data.Length; offset += 1 << 20)
                {
                    hash.AppendData(data.AsSpan(offset, Math.Min(1 << 20, data.Length - offset)));
                }

                hash.GetHashAndReset();
            });

            var copy = new byte[1 << 20];
            Report("memory copy (1 MiB blocks)", data.Length, runs, () =>
            {
                for (var offset = 0; offset < data.Length; offset += copy.Length)
                {
                    data.AsSpan(offset, Math.Min(copy.Length, data.Length - offset)).CopyTo(copy);
                }
            });

            Report("pwrite (1 MiB blocks, new file)", data.Length, runs, () =>
            {
                File.Delete(destination);
                using var handle = File.OpenHandle(destination, FileMode.CreateNew, FileAccess.Write);
                for (var offset = 0; offset < data.Length; offset += 1 << 20)
                {
                    RandomAccess.Write(handle, data.AsSpan(offset, Math.Min(1 << 20, data.Length - offset)), offset);
                }
            });

            File.Delete(destination);
            await File.WriteAllBytesAsync(destination, data).ConfigureAwait(false);
            var digest = SHA256.HashData(data.AsSpan(0, data.Length - SnapshotFile.TrailerLength));
            var window = SnapshotFile.WriterResidentWindow;
            foreach (var size in new[] { 0, window })
            {
                SnapshotFile.WriterResidentWindow = size;
                long peakFile = 0;
                Report(size == 0 ? "structural check, all pages kept mapped" : $"structural check, {size >> 20} MiB resident window", data.Length, runs, () =>
                {
                    using var file = SnapshotFile.Open(destination);
                    using var sampler = new RssFileSampler();
                    var result = file.VerifyWithKnownDigest(digest, new SnapshotVerifyOptions(), CancellationToken.None);
                    if (!result.IsValid)
                    {
                        throw new InvalidOperationException("the snapshot is not valid");
                    }

                    peakFile = Math.Max(peakFile, sampler.Peak);
                });
                Console.WriteLine($"    peak RssFile + RssShmem (mapped pages of a file on disk or on tmpfs) sampled every 10 ms during the check: {peakFile / 1024} MB");
            }

            SnapshotFile.WriterResidentWindow = window;

            long ingestEnd = 0;
            var options = new SnapshotWriterOptions { Overwrite = true };
            options.TestHooks = new SnapshotWriterTestHooks
            {
                AfterDiskWrite = (offset, length) =>
                {
                    if (offset + length == data.Length)
                    {
                        ingestEnd = Stopwatch.GetTimestamp();
                    }
                },
            };
            var writer = new SnapshotWriter(options);
            foreach (var chunk in new[] { 32 * 1024, 1024 })
            {
                var ingest = new List<double>();
                Report($"writer, {chunk}-byte chunks", data.Length, runs, () =>
                {
                    File.Delete(destination);
                    var start = Stopwatch.GetTimestamp();
                    writer.WriteAsync(destination, Chunks(data, chunk)).GetAwaiter().GetResult();
                    ingest.Add(Stopwatch.GetElapsedTime(start, ingestEnd).TotalSeconds);
                });
                ingest.Sort();
                var median = ingest[ingest.Count / 2];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    of which ingest (last byte written and hashed): median {median * 1000:F0} ms, {data.Length / median / 1e6:F0} MB/s"));
            }

            Console.WriteLine($"process: {File.ReadAllLines("/proc/self/status").Where(l => l.StartsWith("VmHWM", StringComparison.Ordinal) || l.StartsWith("Rss", StringComparison.Ordinal)).Aggregate((a, b) => a + "; " + b)}");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }

        return 0;
    }

    private static void Report(string name, long bytes, int runs, Action action)
    {
        var times = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var watch = Stopwatch.StartNew();
            action();
            times.Add(watch.Elapsed.TotalSeconds);
            _ = allocated;
        }

        times.Sort();
        var median = times[times.Count / 2];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-40} median {median * 1000,8:F0} ms  {bytes / median / 1e6,7:F0} MB/s  (runs: {string.Join(", ", times.Select(t => (t * 1000).ToString("F0", CultureInfo.InvariantCulture)))} ms)"));
    }

    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> Chunks(byte[] data, int chunkSize, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (var offset = 0; offset < data.Length; offset += chunkSize)
        {
            yield return data.AsMemory(offset, Math.Min(chunkSize, data.Length - offset));
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <summary>Samples RssFile + RssShmem (kB) from /proc/self/status every 10 ms on its own thread.</summary>
    private sealed class RssFileSampler : IDisposable
    {
        private readonly Thread _thread;
        private volatile bool _stop;

        public RssFileSampler()
        {
            _thread = new Thread(() =>
            {
                while (!_stop)
                {
                    Peak = Math.Max(Peak, Read());
                    Thread.Sleep(10);
                }
            }) { IsBackground = true };
            _thread.Start();
        }

        public long Peak { get; private set; }

        public void Dispose()
        {
            _stop = true;
            _thread.Join();
        }

        private static long Read()
        {
            long total = 0;
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("RssFile:", StringComparison.Ordinal) || line.StartsWith("RssShmem:", StringComparison.Ordinal))
                {
                    total += long.Parse(line.AsSpan(line.IndexOf(':', StringComparison.Ordinal) + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                }
            }

            return total;
        }
    }
}
