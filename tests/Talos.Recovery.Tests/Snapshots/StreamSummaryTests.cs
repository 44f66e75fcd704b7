using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Talos.Recovery.Bolt;
using Talos.Recovery.Snapshots;
using Talos.Recovery.Tests.Bolt;
using Talos.Recovery.Tests.Bolt.Support;

namespace Talos.Recovery.Tests.Snapshots;

/// <summary>
/// The writer summarizes leaf pages while the bytes stream in (<see cref="SnapshotStreamScanner"/>) and its final
/// check then skips reading those pages. Summaries may change the speed, never the result: for valid files and for
/// seeded random damage, the check with summaries (fed in random batches split into random segments, as the pipe
/// delivers them) must report exactly what the check without them reports — validity, status (hash, revision, keys,
/// live keys), trailer and every problem with its code, page, offset and message.
/// </summary>
[TestFixture]
public sealed class StreamSummaryTests
{
    private const int MutationsPerBase = 1000;

    public static IEnumerable<string> Bases() => MutationTests.Bases();

    [TestCaseSource(nameof(Bases))]
    public void Valid_file_is_checked_from_summaries_with_the_same_result(string name)
    {
        var f = MutationTests.Base(name);
        foreach (var liveKeys in new[] { true, false })
        {
            var (plain, summarized) = Both(f.Bytes, seed: 1, liveKeys);
            Assert.That(plain.IsValid, Is.True, () => CheckerAssert.Dump(plain));
            Assert.That(Fingerprint(summarized), Is.EqualTo(Fingerprint(plain)), $"live keys {liveKeys}");
            if (f.HasTrailer)
            {
                Assert.That(summarized.SummarizedPages, Is.GreaterThan(0), "a streamed snapshot's leaf pages are taken from summaries");
            }
        }
    }

    [Test]
    public void Most_leaf_pages_of_an_etcd_snapshot_come_from_summaries()
    {
        var f = BoltFixtures.Workhorse(trailer: true);
        var (plain, summarized) = Both(f.Bytes, seed: 3, liveKeys: true);
        Assert.That(Fingerprint(summarized), Is.EqualTo(Fingerprint(plain)));
        var leaves = CountLeafPages(f);
        Assert.That(summarized.SummarizedPages, Is.GreaterThan(leaves * 9 / 10), $"{summarized.SummarizedPages} of {leaves} leaf pages");
        Assert.That(summarized.Status!.LiveKeyCount, Is.EqualTo(plain.Status!.LiveKeyCount));
    }

    [TestCaseSource(nameof(Bases))]
    public void Random_damage_is_reported_identically_with_and_without_summaries(string name)
    {
        var f = MutationTests.Base(name);
        var seedBase = (Bases().ToList().IndexOf(name) + 1) * 7_000_000;
        var failures = new List<string>();
        var summarizedCases = 0;
        var buffer = new byte[Mutator.BufferLength(f)];
        for (var i = 0; i < MutationsPerBase; i++)
        {
            var m = Mutator.Apply(f, seedBase + i, buffer);
            var bytes = m.Memory.ToArray();
            SnapshotVerification plain, summarized;
            try
            {
                (plain, summarized) = Both(bytes, seed: i, liveKeys: i % 3 != 0);
            }
            catch (SnapshotFormatException)
            {
                // Fatal at open time with or without summaries (the layout is read before any page).
                continue;
            }

            if (summarized.SummarizedPages > 0)
            {
                summarizedCases++;
            }

            var expected = Fingerprint(plain);
            var actual = Fingerprint(summarized);
            if (expected != actual)
            {
                failures.Add($"{m}:\n  without summaries: {expected}\n  with summaries:    {actual}");
            }
        }

        TestContext.Out.WriteLine($"{name}: {MutationsPerBase} mutations, {summarizedCases} checked with summaries");
        Assert.That(failures, Is.Empty, () => string.Join("\n", failures.Take(10)));
        if (f.HasTrailer)
        {
            Assert.That(summarizedCases, Is.GreaterThan(MutationsPerBase / 2), "damage mostly leaves the meta pages alone, so summaries are made");
        }
    }

    /// <summary>Verifies <paramref name="bytes"/> as the writer would, once without and once with stream summaries.</summary>
    private static (SnapshotVerification Plain, SnapshotVerification Summarized) Both(byte[] bytes, int seed, bool liveKeys)
    {
        var hasTrailer = SnapshotFile.HasTrailerByLength(bytes.Length);
        var digest = SHA256.HashData(bytes.AsSpan(0, hasTrailer ? bytes.Length - SnapshotFile.TrailerLength : bytes.Length));
        var options = new SnapshotVerifyOptions { SkipHashCheck = !hasTrailer, CountLiveKeys = liveKeys };
        using var scanner = new SnapshotStreamScanner(recordOps: liveKeys);
        Feed(bytes, scanner, new Random(seed));
        using var file = SnapshotFile.FromMemory(bytes);
        var plain = file.VerifyWithKnownDigest(digest, options, CancellationToken.None);
        var summarized = file.VerifyWithKnownDigest(digest, options, CancellationToken.None, scanner.Summaries);
        Assert.That(plain.SummarizedPages, Is.Zero);
        return (plain, summarized);
    }

    /// <summary>The writer's order: batches of random length, each a sequence of random segments; the stream check first.</summary>
    private static void Feed(byte[] bytes, SnapshotStreamScanner scanner, Random random)
    {
        var check = new SnapshotWriterStreamCheck(streamed: true, expectedLength: null, destination: "test");
        long offset = 0;
        while (offset < bytes.Length)
        {
            var length = (int)Math.Min(bytes.Length - offset, random.Next(1, 40_000));
            var batch = Sequence(bytes.AsMemory((int)offset, length), random);
            try
            {
                check.Observe(batch, offset);
            }
            catch (SnapshotTransferException)
            {
                // The writer fails the transfer here; whatever was summarized is never used then.
                return;
            }

            if (check.DatabaseLength is { } database)
            {
                scanner.Start(check.PageSize, database);
            }

            scanner.Observe(batch, offset);
            offset += length;
        }
    }

    private static ReadOnlySequence<byte> Sequence(ReadOnlyMemory<byte> data, Random random)
    {
        Segment? first = null;
        Segment? last = null;
        var position = 0;
        while (position < data.Length)
        {
            var length = Math.Min(data.Length - position, random.Next(1, 9000));
            var segment = new Segment(data.Slice(position, length), position);
            if (last is null)
            {
                first = segment;
            }
            else
            {
                last.Link(segment);
            }

            last = segment;
            position += length;
        }

        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    private static long CountLeafPages(BoltFile f)
    {
        using var file = SnapshotFile.FromMemory(f.Bytes);
        return file.Inspect(new SnapshotVerifyOptions()).Pages.Leaf;
    }

    private static string Fingerprint(SnapshotVerification v)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"valid={v.IsValid} trailer={v.Trailer} status={v.Status} live={v.Status?.LiveKeyCount} errors={v.ErrorCount} notRecorded={v.ProblemsNotRecorded}");
        foreach (var p in v.Problems)
        {
            text.Append(CultureInfo.InvariantCulture, $" | {p.Code}/{p.Severity}/{p.PageId}/{p.Offset}/{p.Message}");
        }

        return text.ToString();
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void Link(Segment next) => Next = next;
    }
}
