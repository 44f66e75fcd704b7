using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Talos.Recovery.Bolt;

namespace Talos.Recovery.Snapshots;

public sealed partial class SnapshotFile
{
    private const int Sha256SliceLength = 8 << 20;
    private const long PrefaultThreshold = 64L << 20;
    private const int PrefaultStride = 4096;

    /// <summary>
    /// How many bytes of pages the structural check of a freshly written snapshot may map before it drops them from
    /// the resident set again (the writer's peak RSS then stays near this, whatever the snapshot's size); 0 keeps
    /// every page mapped. Settable only so that the benchmarks can compare both.
    /// </summary>
    internal static long WriterResidentWindow { get; set; } = 8L << 20;

    [GeneratedRegex(@"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex SemverPattern();

    /// <summary>
    /// Verifies with a SHA-256 of the database part that the caller already computed while the bytes arrived
    /// (the snapshot writer), so the file is read once, through the page cache, for the structure only. The walk
    /// drops the mapped pages from the resident set every <see cref="WriterResidentWindow"/> bytes, so that the
    /// writer's memory does not grow with the snapshot (the page cache keeps them; re-reads are minor faults).
    /// </summary>
    internal SnapshotVerification VerifyWithKnownDigest(byte[] databaseSha256, SnapshotVerifyOptions options, CancellationToken cancellationToken, SnapshotStreamSummaries? summaries = null)
    {
        ArgumentNullException.ThrowIfNull(databaseSha256);
        return Analyze(options, computeSha256: true, inspect: false, cancellationToken, databaseSha256, WriterResidentWindow, summaries).Verification;
    }

    /// <summary>
    /// One pass over the file: meta selection, the full structural check with the etcd status computed from the
    /// same walk, and (on another core, at the same time) the SHA-256 of the database part.
    /// </summary>
    private unsafe (SnapshotVerification Verification, SnapshotInspection? Inspection) Analyze(SnapshotVerifyOptions options, bool computeSha256, bool inspect, CancellationToken cancellationToken, byte[]? knownSha256 = null, long residentWindow = 0, SnapshotStreamSummaries? summaries = null)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var sink = new BoltProblemSink(options.MaxProblems);
        var length = Length;
        var hasTrailer = HasTrailer;
        var databaseLength = hasTrailer ? length - TrailerLength : length;
        var database = new BoltMemory(_buffer.Pointer, databaseLength);

        using var shaCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task<byte[]>? sha256 = null;
        if (knownSha256 is not null)
        {
            sha256 = hasTrailer && !options.SkipHashCheck ? Task.FromResult(knownSha256) : null;
        }
        else if (computeSha256 && !(hasTrailer && options.SkipHashCheck))
        {
            // With a trailer: the digest to compare. Without one (a raw copy): the file's fingerprint for manifests.
            var pointer = (nint)_buffer.Pointer;
            var token = shaCancellation.Token;
            sha256 = Task.Run(() => ComputeSha256(pointer, databaseLength, token), token);
        }

        // Without a SHA-256 pass to fault the mapping in ahead of the walk, a second core does only that: the
        // walker then finds most pages already mapped instead of taking one page fault per 4 KiB.
        Task? prefault = null;
        if (sha256 is null && databaseLength >= PrefaultThreshold)
        {
            var pointer = (nint)_buffer.Pointer;
            var token = shaCancellation.Token;
            prefault = Task.Run(() => Prefault(pointer, databaseLength, token), token);
        }

        try
        {
            BoltLayout layout;
            try
            {
                layout = BoltLayout.Open(database, streamed: hasTrailer, sink);
            }
            catch (BoltFormatException ex)
            {
                throw new SnapshotFormatException($"{Path ?? "snapshot"}: {ex.Message}", Path, ex.Code, ex.PageId, ex.Offset);
            }

            if (hasTrailer && (ulong)databaseLength != (UInt128)layout.HighWaterMark * (ulong)layout.PageSize)
            {
                sink.Error(BoltProblemCode.TrailerLengthMismatch, null, databaseLength, string.Create(CultureInfo.InvariantCulture, $"the database part of this streamed snapshot is {databaseLength} bytes, but its high-water mark says {layout.HighWaterMark} pages of {layout.PageSize} bytes"));
            }

            var liveKeys = options.CountLiveKeys || inspect ? new LiveKeySet(database) : null;
            var collector = inspect ? new EtcdInspectionCollector() : null;
            var checker = new BoltChecker(database, layout, sink);
            if (summaries is not null && !inspect && summaries.Pages.PageSize == layout.PageSize && (ulong)summaries.Pages.Pages == layout.HighWaterMark)
            {
                checker.UseSummaries(summaries.Pages);
            }
            else
            {
                summaries = null;
            }

            var visitor = new EtcdStatusVisitor(sink, liveKeys, collector, summaries);
            if (residentWindow > 0 && _buffer.CanReleaseResident && length > residentWindow)
            {
                var buffer = _buffer;
                checker.ReleaseEvery(residentWindow, buffer.ReleaseResident);
            }

            checker.Run(ref visitor, cancellationToken);

            SnapshotStatus? status = null;
            if (!sink.HasErrors)
            {
                status = new SnapshotStatus(
                    visitor.Hash,
                    visitor.Revision,
                    visitor.TotalKey,
                    (long)layout.HighWaterMark * layout.PageSize,
                    liveKeys?.Count,
                    ParseStorageVersion(visitor.RawStorageVersion));
            }

            var trailer = SnapshotTrailerState.Absent;
            byte[]? expected = null;
            byte[]? actual = null;
            if (hasTrailer)
            {
                expected = new ReadOnlySpan<byte>(_buffer.Pointer + databaseLength, TrailerLength).ToArray();
                if (sha256 is null)
                {
                    trailer = SnapshotTrailerState.NotChecked;
                }
                else
                {
                    actual = sha256.GetAwaiter().GetResult();
                    trailer = actual.AsSpan().SequenceEqual(expected) ? SnapshotTrailerState.Verified : SnapshotTrailerState.Mismatch;
                    if (trailer == SnapshotTrailerState.Mismatch)
                    {
                        sink.Error(BoltProblemCode.TrailerMismatch, null, databaseLength, $"SHA-256 trailer mismatch: the file ends in {Convert.ToHexStringLower(expected)} but its first {databaseLength} bytes hash to {Convert.ToHexStringLower(actual)} (etcd restore: expected sha256 …, got …)");
                    }
                }
            }
            else
            {
                actual = sha256?.GetAwaiter().GetResult();
            }

            if (!hasTrailer && !options.SkipHashCheck)
            {
                sink.Error(BoltProblemCode.TrailerMissing, null, length, string.Create(CultureInfo.InvariantCulture, $"snapshot missing hash: {length} bytes is not 32 more than a multiple of 512, so there is no SHA-256 trailer (a raw copy of member/snap/db, or a cut stream); skip the hash check only for a raw copy"));
            }

            var verification = new SnapshotVerification(Path, length, databaseLength, trailer, expected, actual, status, sink.ToList(), sink.NotRecorded, sink.ErrorCount)
            {
                SummarizedPages = checker.SummarizedPages,
            };
            if (collector is null)
            {
                return (verification, null);
            }

            return (verification, BuildInspection(verification, layout, checker.Stats, collector, liveKeys!, database));
        }
        finally
        {
            // Both helpers read the mapping: they must be finished before the caller can unmap it.
            shaCancellation.Cancel();
            WaitQuietly(sha256);
            WaitQuietly(prefault);
        }
    }

    private static void WaitQuietly(Task? task)
    {
        if (task is null)
        {
            return;
        }

        try
        {
            task.Wait(CancellationToken.None);
        }
        catch (AggregateException)
        {
            // Cancelled because the analysis ended (or failed) first; nothing of it is needed any more.
        }
    }

    private static unsafe void Prefault(nint pointer, long length, CancellationToken cancellationToken)
    {
        var bytes = (byte*)pointer;
        var sum = 0;
        for (long offset = 0; offset < length; offset += PrefaultStride)
        {
            if ((offset & ((64L << 20) - 1)) == 0 && cancellationToken.IsCancellationRequested)
            {
                return;
            }

            sum += Volatile.Read(ref bytes[offset]);
        }

        GC.KeepAlive(sum);
    }

    private static byte[] ComputeSha256(nint pointer, long length, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long offset = 0;
        while (offset < length)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var slice = (int)Math.Min(Sha256SliceLength, length - offset);
            unsafe
            {
                hash.AppendData(new ReadOnlySpan<byte>((byte*)pointer + offset, slice));
            }

            offset += slice;
        }

        return hash.GetHashAndReset();
    }

    /// <summary>etcd 3.6: the storage version is reported only when it parses as semver; otherwise empty.</summary>
    internal static string ParseStorageVersion(string? raw)
    {
        if (raw is null)
        {
            return string.Empty;
        }

        var match = SemverPattern().Match(raw);
        return match.Success ? raw : string.Empty;
    }

    private static SnapshotInspection BuildInspection(SnapshotVerification verification, BoltLayout layout, BoltPageStats stats, EtcdInspectionCollector collector, LiveKeySet liveKeys, BoltMemory memory)
    {
        var resources = new Dictionary<string, long>(StringComparer.Ordinal);
        long other = 0;
        // Counted through a span lookup: a string is made once per resource, not once per key.
        var lookup = resources.GetAlternateLookup<ReadOnlySpan<char>>();
        Span<char> name = stackalloc char[256];
        foreach (var (offset, keyLength) in liveKeys.Keys())
        {
            var key = memory.Span(offset, keyLength);
            if (!key.StartsWith("/registry/"u8))
            {
                other++;
                continue;
            }

            var rest = key["/registry/"u8.Length..];
            var end = rest.IndexOf((byte)'/');
            var segment = end < 0 ? rest : rest[..end];
            if (segment.Length > name.Length)
            {
                var longName = Encoding.UTF8.GetString(segment);
                resources[longName] = resources.GetValueOrDefault(longName) + 1;
                continue;
            }

            var chars = name[..Encoding.UTF8.GetChars(segment, name)];
            lookup[chars] = lookup.TryGetValue(chars, out var count) ? count + 1 : 1;
        }

        return new SnapshotInspection
        {
            Verification = verification,
            PageSize = layout.PageSize,
            PageCount = (long)layout.HighWaterMark,
            TransactionId = layout.Active.TxId,
            HasFreelist = layout.Active.HasFreelist,
            Pages = new SnapshotPageCounts(2, stats.Freelist, stats.Branch, stats.Leaf, stats.Overflow, stats.Free),
            Buckets = collector.Buckets,
            ConsistentIndex = collector.ConsistentIndex,
            Term = collector.Term,
            ScheduledCompactRevision = collector.ScheduledCompactRevision,
            FinishedCompactRevision = collector.FinishedCompactRevision,
            ClusterVersion = collector.ClusterVersion,
            StorageVersion = collector.StorageVersion,
            AuthEnabled = collector.AuthEnabled,
            Members = collector.Members,
            Leases = collector.Leases,
            Alarms = collector.Alarms,
            KeyRevisions = collector.Buckets.FirstOrDefault(b => b.Name == "key")?.Keys ?? 0,
            Tombstones = collector.Tombstones,
            LiveKeys = liveKeys.Count,
            Resources = resources.OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal).Select(r => new SnapshotResourceCount(r.Key, r.Value)).ToList(),
            OtherLiveKeys = other,
        };
    }
}
