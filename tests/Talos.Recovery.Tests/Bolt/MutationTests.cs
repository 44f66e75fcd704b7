using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Talos.Recovery.Bolt;
using Talos.Recovery.Snapshots;
using Talos.Recovery.Tests.Bolt.Support;

namespace Talos.Recovery.Tests.Bolt;

/// <summary>
/// Seeded random damage (<see cref="Mutator"/>) over several base files. For every mutation the checker must
/// return a result (or throw <see cref="SnapshotFormatException"/> for open-time fatal damage), finish quickly,
/// allocate a bounded amount, and be consistent with itself. With a trailer, every mutation that changed the bytes
/// must fail; without one, mutations that break a hard invariant must fail and mutations confined to free pages
/// must not change anything. Failures print the base, the seed and the mutation: reproduce with
/// <c>Mutator.Apply(base, seed)</c>.
/// </summary>
[TestFixture]
public sealed class MutationTests
{
    private const int MutationsPerBase = 1500;
    private static readonly TimeSpan PerCaseLimit = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan BatchLimit = TimeSpan.FromSeconds(240);

    private static readonly ConcurrentDictionary<string, BoltFile> Cache = new();

    public static IEnumerable<string> Bases() =>
    [
        "etcd-trailer-nofreelist",
        "etcd-datadir-tail-nofreelist",
        "etcd-synced-trailer",
        "inline-heavy-synced",
        "overflow-heavy-trailer",
        "p512-deep-synced-trailer",
        "p16k-nofreelist",
    ];

    internal static BoltFile Base(string name) => Cache.GetOrAdd(name, static n => n switch
    {
        "etcd-trailer-nofreelist" => Build(new BoltFileBuilder { Trailer = true, FreePageCount = 10, Seed = 21 }, new EtcdShape { Revisions = 900, ValueSize = 160 }),
        "etcd-datadir-tail-nofreelist" => Build(new BoltFileBuilder { TailLength = 8192, FreePageCount = 12, FreePageContent = FreePageContent.StaleCopy, Seed = 22, MaxKeysPerPage = 20 }, new EtcdShape { Revisions = 900, ValueSize = 160 }),
        "etcd-synced-trailer" => Build(new BoltFileBuilder { Trailer = true, Freelist = FreelistMode.Synced, FreePageCount = 30, MaxKeysPerPage = 16, Seed = 23 }, new EtcdShape { Revisions = 800, ValueSize = 120 }),
        "inline-heavy-synced" => BoltFixtures.InlineHeavy(FreelistMode.Synced, trailer: false, buckets: 400, seed: 24),
        "overflow-heavy-trailer" => BoltFixtures.OverflowHeavy(FreelistMode.None, trailer: true, seed: 25),
        "p512-deep-synced-trailer" => Build(new BoltFileBuilder(512) { Trailer = true, Freelist = FreelistMode.Synced, FreePageCount = 40, MaxKeysPerPage = 4, Seed = 26 }, new EtcdShape { Revisions = 600, ValueSize = 30 }),
        "p16k-nofreelist" => Build(new BoltFileBuilder(16384) { FreePageCount = 4, Seed = 27 }, new EtcdShape { Revisions = 1000, ValueSize = 200 }),
        _ => throw new ArgumentOutOfRangeException(nameof(n), n),
    });

    private static BoltFile Build(BoltFileBuilder builder, EtcdShape shape)
    {
        builder.AddEtcdBuckets(shape);
        return builder.Build();
    }

    [TestCaseSource(nameof(Bases))]
    public void Base_file_is_valid(string name)
    {
        var f = Base(name);
        TestContext.Out.WriteLine($"{name}: {f} ({f.Bytes.Length} bytes)");
        CheckerAssert.Clean(f.Bytes, f.Status, skipHashCheck: !f.HasTrailer);
    }

    [TestCaseSource(nameof(Bases))]
    public void Random_mutations_are_reported_without_crashing_hanging_or_unbounded_memory(string name)
    {
        var f = Base(name);
        var seedBase = (Bases().ToList().IndexOf(name) + 1) * 1_000_000;
        var report = RunBatch(f, name, seedBase, MutationsPerBase);
        TestContext.Out.WriteLine(report.Summary);
        Assert.That(report.Failures, Is.Empty, () => $"{report.Failures.Count} failing mutations on {name} ({f}):\n" + string.Join("\n", report.Failures.Take(25)));
    }

    internal sealed record BatchReport(IReadOnlyList<string> Failures, string Summary);

    internal static BatchReport RunBatch(BoltFile f, string name, int seedBase, int count)
    {
        var failures = new ConcurrentQueue<string>();
        var running = new ConcurrentDictionary<int, (long Start, string What)>();
        var kinds = new ConcurrentDictionary<MutationKind, int>();
        var codes = new ConcurrentDictionary<string, int>();
        long maxAllocated = 0, maxTicks = 0;
        var rejected = 0;
        var unchanged = 0;
        var allocationLimit = (64L << 20) + (16L * f.Bytes.Length);
        var watch = Stopwatch.StartNew();

        using var buffers = new ThreadLocal<byte[]>(() => new byte[Mutator.BufferLength(f)]);

        void One(int i)
        {
            var seed = seedBase + i;
            var m = Mutator.Apply(f, seed, buffers.Value);
            kinds.AddOrUpdate(m.Kind, 1, (_, n) => n + 1);
            running[seed] = (Stopwatch.GetTimestamp(), m.ToString());
            try
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                var start = Stopwatch.GetTimestamp();
                var outcome = Run(m.Memory, !f.HasTrailer, i % 10 == 9 ? 2 : 1000, out var error);
                var ticks = Stopwatch.GetTimestamp() - start;
                var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                InterlockedMax(ref maxAllocated, allocated);
                InterlockedMax(ref maxTicks, ticks);
                if (error is not null)
                {
                    failures.Enqueue($"{name} {m}: {error}");
                    return;
                }

                if (Stopwatch.GetElapsedTime(start, start + ticks) > PerCaseLimit)
                {
                    failures.Enqueue($"{name} {m}: slow, {Stopwatch.GetElapsedTime(start, start + ticks).TotalSeconds:F1} s");
                }

                if (allocated > allocationLimit)
                {
                    failures.Enqueue($"{name} {m}: allocated {allocated >> 20} MiB for a {f.Bytes.Length >> 10} KiB file");
                }

                if (outcome!.Rejected)
                {
                    Interlocked.Increment(ref rejected);
                }

                foreach (var p in outcome.Errors.Select(p => p.Code.ToString()).Distinct())
                {
                    codes.AddOrUpdate(p, 1, (_, n) => n + 1);
                }

                if (outcome.FormatError is not null)
                {
                    codes.AddOrUpdate("format:" + outcome.FormatError.Code, 1, (_, n) => n + 1);
                }

                var same = m.Length == f.Bytes.Length && m.Memory.Span.SequenceEqual(f.Bytes);
                if (same)
                {
                    Interlocked.Increment(ref unchanged);
                }

                foreach (var problem in Judge(f, m, outcome, same, i % 10 == 9 ? 2 : 1000))
                {
                    failures.Enqueue($"{name} {m}: {problem}\n    {outcome.ToString().Replace("\n", "\n    ", StringComparison.Ordinal)}");
                }

                if (i % 16 == 0)
                {
                    var again = Run(m.Memory, !f.HasTrailer, i % 10 == 9 ? 2 : 1000, out _);
                    if (again is not null && Fingerprint(again) != Fingerprint(outcome))
                    {
                        failures.Enqueue($"{name} {m}: not deterministic:\n{Fingerprint(outcome)}\nvs\n{Fingerprint(again)}");
                    }
                }

                if (i % 8 == 0)
                {
                    CheckGetStatus(f, m, outcome, failures, name);
                }
            }
            finally
            {
                running.TryRemove(seed, out _);
            }
        }

        var task = Task.Factory.StartNew(
            () => Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, One),
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        var reportedStuck = new HashSet<int>();
        while (!task.Wait(200))
        {
            foreach (var (seed, (start, what)) in running)
            {
                if (Stopwatch.GetElapsedTime(start) > PerCaseLimit && reportedStuck.Add(seed))
                {
                    failures.Enqueue($"{name} {what}: still running after {PerCaseLimit.TotalSeconds} s (hang?)");
                }
            }

            if (watch.Elapsed > BatchLimit)
            {
                return new BatchReport(failures.ToList(), $"{name}: batch abandoned after {watch.Elapsed.TotalSeconds:F0} s; stuck: {string.Join("; ", running.Values.Select(r => r.What))}");
            }
        }

        if (task.Exception is { } ex)
        {
            failures.Enqueue($"{name}: batch crashed: {ex}");
        }

        var summary = new StringBuilder();
        summary.Append(CultureInfo.InvariantCulture, $"{name}: {count} mutations in {watch.Elapsed.TotalSeconds:F1} s, rejected {rejected}, unchanged {unchanged}, slowest {TimeSpan.FromTicks(maxTicks * TimeSpan.TicksPerSecond / Stopwatch.Frequency).TotalMilliseconds:F1} ms, max allocated {maxAllocated / 1024} KiB");
        summary.Append("\n  kinds: ").AppendJoin(", ", kinds.OrderBy(k => k.Key).Select(k => $"{k.Key}={k.Value}"));
        summary.Append("\n  error codes seen: ").AppendJoin(", ", codes.OrderByDescending(k => k.Value).Select(k => $"{k.Key}={k.Value}"));
        return new BatchReport(failures.ToList(), summary.ToString());
    }

    /// <summary>Runs Verify; returns the outcome, or null with <paramref name="error"/> set for a forbidden exception.</summary>
    private static CheckOutcome? Run(ReadOnlyMemory<byte> bytes, bool skipHashCheck, int maxProblems, out string? error)
    {
        error = null;
        using var cts = new CancellationTokenSource(PerCaseLimit);
        try
        {
            using var file = SnapshotFile.FromMemory(bytes);
            var v = file.Verify(new SnapshotVerifyOptions { SkipHashCheck = skipHashCheck, MaxProblems = maxProblems }, cts.Token);
            return new CheckOutcome(v, null);
        }
        catch (SnapshotFormatException ex)
        {
            return new CheckOutcome(null, ex);
        }
        catch (OperationCanceledException)
        {
            error = $"did not finish within {PerCaseLimit.TotalSeconds} s (cancelled)";
            return null;
        }
#pragma warning disable CA1031 // the point is to catch everything the checker must not throw
        catch (Exception ex)
#pragma warning restore CA1031
        {
            error = "threw " + ex;
            return null;
        }
    }

    private static IEnumerable<string> Judge(BoltFile f, Mutation m, CheckOutcome outcome, bool same, int maxProblems)
    {
        if (outcome.FormatError is { } fe)
        {
            if (fe.Code is null)
            {
                yield return "SnapshotFormatException without a Code";
            }

            if (same)
            {
                yield return "unchanged file rejected at open";
            }

            if (m.OnlyIrrelevant)
            {
                yield return "only free-page/tail bytes changed, but the file was rejected at open";
            }

            yield break;
        }

        var v = outcome.Verification!;
        var firstWarning = v.Problems.ToList().FindIndex(p => p.Severity == BoltProblemSeverity.Warning);
        if (firstWarning >= 0 && v.Problems.Skip(firstWarning).Any(p => p.Severity == BoltProblemSeverity.Error))
        {
            yield return "problems are not sorted errors first";
        }

        if (v.Problems.Count > maxProblems)
        {
            yield return $"{v.Problems.Count} problems recorded with MaxProblems {maxProblems}";
        }

        if (v.IsValid && v.Status is null)
        {
            yield return "valid but no status";
        }

        if (v.Problems.Any(p => string.IsNullOrWhiteSpace(p.Message)))
        {
            yield return "a problem without a message";
        }

        if (v.Problems.Any(p => p.Offset is { } o && (o < 0 || o > m.Length)))
        {
            yield return "a problem offset outside the file";
        }

        if (v.Problems.Any(p => p.PageId is < 0))
        {
            yield return "a negative page id";
        }

        if (v.FileLength != m.Length)
        {
            yield return $"FileLength {v.FileLength} != {m.Length}";
        }

        if (same)
        {
            if (!v.IsValid || v.Problems.Count > 0)
            {
                yield return "unchanged file reported damaged";
            }

            yield break;
        }

        if (f.HasTrailer && v.IsValid)
        {
            yield return "bytes changed under a trailer, but the file verified";
        }

        if (m.MustFail && v.IsValid)
        {
            yield return "hard invariant broken, but the file verified";
        }

        if (m.OnlyIrrelevant && !f.HasTrailer)
        {
            if (!v.IsValid)
            {
                yield return "only free-page/tail bytes changed, but the file was reported damaged";
            }
            else if (v.Status is { } s && (s.Hash != f.Status!.Hash || s.Revision != f.Status.Revision || s.TotalKey != f.Status.TotalKey || s.TotalSize != f.Status.TotalSize))
            {
                yield return $"only free-page/tail bytes changed, but the status changed: {s}";
            }
        }
    }

    private static void CheckGetStatus(BoltFile f, Mutation m, CheckOutcome outcome, ConcurrentQueue<string> failures, string name)
    {
        try
        {
            using var file = SnapshotFile.FromMemory(m.Memory);
            var status = file.GetStatus();
            if (!f.HasTrailer && outcome.Verification is { IsValid: false })
            {
                failures.Enqueue($"{name} {m}: GetStatus returned {status} for a file Verify rejected");
            }
        }
        catch (SnapshotIntegrityException ex)
        {
            if (!f.HasTrailer && outcome.Verification is { IsValid: true })
            {
                failures.Enqueue($"{name} {m}: GetStatus threw for a file Verify accepted: {ex.Message}");
            }
        }
        catch (SnapshotFormatException)
        {
            if (outcome.FormatError is null)
            {
                failures.Enqueue($"{name} {m}: GetStatus threw SnapshotFormatException, Verify did not");
            }
        }
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failures.Enqueue($"{name} {m}: GetStatus threw {ex}");
        }
    }

    private static string Fingerprint(CheckOutcome o) => o.FormatError is { } fe
        ? $"format {fe.Code}"
        : string.Join("\n", o.Verification!.Problems.Select(p => $"{p.Code} {p.Severity} {p.PageId} {p.Offset}")) + $" +{o.Verification.ProblemsNotRecorded} valid={o.Verification.IsValid} status={o.Verification.Status}";

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Interlocked.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
