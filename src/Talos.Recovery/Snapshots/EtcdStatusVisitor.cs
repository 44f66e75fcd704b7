using System.Buffers.Binary;
using System.Globalization;
using Talos.Recovery.Bolt;

namespace Talos.Recovery.Snapshots;

/// <summary>
/// Computes etcd's snapshot status while the checker walks the file (spec §3): CRC-32C over every top-level bucket
/// name and every key and value of those buckets in cursor order, total keys, the last revision of the <c>key</c>
/// bucket, and etcd 3.6's live-key count and storage version. Optionally collects what an inspection reports.
/// No allocation per key: live keys are tracked by their file offsets.
/// </summary>
internal struct EtcdStatusVisitor : IBoltVisitor
{
    private readonly BoltProblemSink _sink;
    private readonly LiveKeySet? _liveKeys;
    private readonly EtcdInspectionCollector? _inspection;
    private readonly SnapshotStreamSummaries? _summaries;
    private Crc32C _crc;
    private EtcdBucket _current;
    private SnapshotBucketCounter? _currentCounter;

    public EtcdStatusVisitor(BoltProblemSink sink, LiveKeySet? liveKeys, EtcdInspectionCollector? inspection, SnapshotStreamSummaries? summaries = null)
    {
        _summaries = summaries;
        _sink = sink;
        _liveKeys = liveKeys;
        _inspection = inspection;
        _crc = new Crc32C();
    }

    public readonly uint Hash => _crc.Value;

    public long TotalKey { get; private set; }

    public long Revision { get; private set; }

    public string? RawStorageVersion { get; private set; }

    /// <summary>
    /// A clean leaf page's summary in place of its entries: usable where the entries would only be hashed, counted,
    /// and (in the <c>key</c> bucket) read as revisions; not for the <c>meta</c> bucket (its storage version is a
    /// value) or when an inspection collects entries.
    /// </summary>
    public bool TryApplySummary(int depth, long pageId, in BoltLeafSummaries.Entry summary)
    {
        if (depth != 1)
        {
            // Nested buckets: nothing of theirs is hashed or counted.
            return depth > 1;
        }

        if (_inspection is not null || _current == EtcdBucket.Meta)
        {
            return false;
        }

        if (_current == EtcdBucket.Key)
        {
            if (_summaries is null)
            {
                return false;
            }

            var facts = _summaries[pageId];
            if (!facts.RevisionKeys || (_liveKeys is not null && facts.OpCount != summary.Count))
            {
                return false;
            }
        }

        _crc.Append(summary.Register, summary.DataLength);
        TotalKey += summary.Count;
        if (_current != EtcdBucket.Key)
        {
            return true;
        }

        var revisions = _summaries![pageId];
        Revision = revisions.LastRevision;
        if (_liveKeys is not null)
        {
            foreach (ref readonly var op in _summaries.Ops(revisions))
            {
                if (op.Tombstone)
                {
                    _liveKeys.Remove(op.Hash, op.Offset, op.Length);
                }
                else
                {
                    _liveKeys.Add(op.Hash, op.Offset, op.Length);
                }
            }
        }

        return true;
    }

    public void OnEntry(int depth, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, BoltEntryKind kind, long pageId, long keyOffset)
    {
        if (depth == 1)
        {
            _crc.Append(key);
            _crc.Append(value);
            TotalKey++;
            if (_currentCounter is not null)
            {
                _currentCounter.Keys++;
            }

            switch (_current)
            {
                case EtcdBucket.Key:
                    OnRevision(key, value, kind, pageId, keyOffset);
                    break;
                case EtcdBucket.Meta:
                    if (key.SequenceEqual("storageVersion"u8))
                    {
                        RawStorageVersion = System.Text.Encoding.UTF8.GetString(value);
                    }

                    _inspection?.OnMeta(key, value);
                    break;
                case EtcdBucket.Other:
                    break;
                default:
                    _inspection?.OnEntry(_current, key, value);
                    break;
            }

            return;
        }

        if (depth != 0)
        {
            return;
        }

        _current = Classify(key);
        if (kind == BoltEntryKind.Value)
        {
            // etcdctl: tx.Bucket(name) is nil for a plain key, and status fails.
            _sink.Error(BoltProblemCode.TopLevelNotBucket, pageId, keyOffset, "cannot get hash of bucket " + System.Text.Encoding.UTF8.GetString(key));
            _current = EtcdBucket.Other;
            _currentCounter = null;
            return;
        }

        _crc.Append(key);
        _currentCounter = _inspection?.AddBucket(key, kind == BoltEntryKind.InlineBucket);
    }

    private void OnRevision(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, BoltEntryKind kind, long pageId, long keyOffset)
    {
        // etcd 3.4/3.5: main = key[0:8] big-endian, no other check (shorter keys crash etcdctl). etcd 3.6 is strict:
        // length 17 or 18, '_' separator, non-negative revisions. A valid etcd never writes anything else.
        if (key.Length != 17 && key.Length != 18)
        {
            _sink.Error(BoltProblemCode.InvalidRevisionKey, pageId, keyOffset, F($"key bucket entry at page {pageId}: invalid revision length: {key.Length} (expected 17, or 18 for a tombstone){(key.Length < 17 ? "; etcdctl 3.4 crashes on it" : string.Empty)}"));
            if (key.Length >= 8)
            {
                Revision = BinaryPrimitives.ReadInt64BigEndian(key);
            }

            return;
        }

        var main = BinaryPrimitives.ReadInt64BigEndian(key);
        var sub = BinaryPrimitives.ReadInt64BigEndian(key[9..]);
        Revision = main;
        if (key[8] != (byte)'_')
        {
            _sink.Error(BoltProblemCode.InvalidRevisionKey, pageId, keyOffset + 8, F($"key bucket entry at page {pageId}: invalid separator in bucket key: 0x{key[8]:x2} (expected '_')"));
        }

        if (main < 0 || sub < 0)
        {
            _sink.Error(BoltProblemCode.InvalidRevisionKey, pageId, keyOffset, F($"key bucket entry at page {pageId}: negative revision: main={main} sub={sub}"));
        }

        var tombstone = key.Length == 18;
        if (tombstone && key[17] != (byte)'t')
        {
            _sink.Error(BoltProblemCode.InvalidRevisionKey, pageId, keyOffset + 17, F($"key bucket entry at page {pageId}: 18-byte revision key ends in 0x{key[17]:x2}, not the tombstone mark 't'"));
        }

        if (kind != BoltEntryKind.Value)
        {
            _sink.Error(BoltProblemCode.InvalidKeyValue, pageId, keyOffset, F($"key bucket entry at page {pageId} (revision {main}) is a bucket, not a key-value"));
            return;
        }

        if (!MvccKeyValue.TryGetKey(value, out var userKeyStart, out var userKeyLength, out var error))
        {
            _sink.Error(BoltProblemCode.InvalidKeyValue, pageId, keyOffset + key.Length, F($"key bucket entry at page {pageId} (revision {main}): cannot unmarshal mvccpb.KeyValue: {error}"));
            return;
        }

        var userKey = value.Slice(userKeyStart, userKeyLength);
        var userKeyOffset = keyOffset + key.Length + userKeyStart;
        if (tombstone)
        {
            _liveKeys?.Remove(userKey, userKeyOffset);
            _inspection?.OnTombstone();
        }
        else
        {
            _liveKeys?.Add(userKey, userKeyOffset);
        }
    }

    private static EtcdBucket Classify(ReadOnlySpan<byte> name) => name switch
    {
        _ when name.SequenceEqual("key"u8) => EtcdBucket.Key,
        _ when name.SequenceEqual("meta"u8) => EtcdBucket.Meta,
        _ when name.SequenceEqual("cluster"u8) => EtcdBucket.Cluster,
        _ when name.SequenceEqual("members"u8) => EtcdBucket.Members,
        _ when name.SequenceEqual("members_removed"u8) => EtcdBucket.MembersRemoved,
        _ when name.SequenceEqual("auth"u8) => EtcdBucket.Auth,
        _ when name.SequenceEqual("lease"u8) => EtcdBucket.Lease,
        _ when name.SequenceEqual("alarm"u8) => EtcdBucket.Alarm,
        _ => EtcdBucket.Other,
    };

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>etcd's top-level buckets the status and inspection look into.</summary>
internal enum EtcdBucket
{
    Other = 0,
    Key,
    Meta,
    Cluster,
    Members,
    MembersRemoved,
    Auth,
    Lease,
    Alarm,
}

/// <summary>A mutable key counter for one top-level bucket (inspection only).</summary>
internal sealed class SnapshotBucketCounter
{
    public required string Name { get; init; }

    public required bool Inline { get; init; }

    public long Keys { get; set; }
}
