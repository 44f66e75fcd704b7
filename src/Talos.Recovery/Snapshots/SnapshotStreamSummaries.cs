using Talos.Recovery.Bolt;

namespace Talos.Recovery.Snapshots;

/// <summary>
/// What <see cref="SnapshotStreamScanner"/> learned while a snapshot streamed in: the bbolt leaf summaries the walk
/// uses in place of reading pages (<see cref="BoltLeafSummaries"/>), and, per summarized page, what etcd's status
/// needs when the page belongs to the <c>key</c> bucket: whether every key is a valid revision key with a readable
/// <c>mvccpb.KeyValue</c>, the last main revision, and the live-key operations in key order (when counted).
/// </summary>
internal sealed class SnapshotStreamSummaries
{
    /// <summary>The most live-key operations kept (24 bytes each); pages after that carry none.</summary>
    private const int MaxOps = (256 << 20) / 24;

    /// <summary>Per page: the last main revision, or -1 when the page is not a page of valid revisions.</summary>
    private readonly long[] _lastRevision;

    /// <summary>Per page (when operations are recorded): the first operation, or -1 for none.</summary>
    private readonly int[]? _opStart;
    private MvccOp[] _ops = [];
    private int _opsLength;

    public SnapshotStreamSummaries(long pageSize, long pages, bool recordOps)
    {
        Pages = new BoltLeafSummaries(pageSize, pages);
        _lastRevision = new long[Pages.Pages];
        RecordsOps = recordOps;
        if (recordOps)
        {
            _opStart = new int[Pages.Pages];
            // About three revisions a page in an etcd key bucket; grows by doubling for anything denser.
            _ops = new MvccOp[(int)Math.Clamp(pages * 3, 1 << 8, MaxOps / 4)];
        }
    }

    public BoltLeafSummaries Pages { get; }

    /// <summary>Whether revision pages carry their live-key operations.</summary>
    public bool RecordsOps { get; }

    public bool Exhausted => Pages.Exhausted;

    public Facts this[long pageId]
    {
        get
        {
            var last = _lastRevision[pageId];
            var start = _opStart?[pageId] ?? -1;
            return new Facts
            {
                RevisionKeys = last >= 0,
                LastRevision = Math.Max(last, 0),
                OpStart = Math.Max(start, 0),
                OpCount = start >= 0 ? Pages.TryGet(pageId, out var entry) ? entry.Count : (ushort)0 : (ushort)0,
            };
        }
    }

    public ReadOnlySpan<MvccOp> Ops(in Facts facts) => _ops.AsSpan(facts.OpStart, facts.OpCount);

    /// <summary>Reserves room for <paramref name="count"/> operations; -1 when the cap is reached.</summary>
    public int ReserveOps(int count)
    {
        if (_opsLength + count > _ops.Length)
        {
            var grown = Math.Max(_ops.Length * 2L, _opsLength + (long)count);
            if (grown > MaxOps)
            {
                return -1;
            }

            Array.Resize(ref _ops, (int)grown);
        }

        var start = _opsLength;
        _opsLength += count;
        return start;
    }

    public Span<MvccOp> OpsAt(int start, int count) => _ops.AsSpan(start, count);

    /// <summary>Drops the operations reserved from <paramref name="start"/> on (the page did not qualify).</summary>
    public void ReleaseOps(int start) => _opsLength = start;

    public void Set(long pageId, in BoltLeafSummaries.Entry entry, in Facts facts)
    {
        if ((ulong)pageId < (ulong)_lastRevision.Length)
        {
            _lastRevision[pageId] = facts.RevisionKeys ? facts.LastRevision : -1;
            if (_opStart is not null)
            {
                _opStart[pageId] = facts.OpCount > 0 ? facts.OpStart : -1;
            }

            Pages.Set(pageId, entry);
        }
    }

    /// <summary>A summarized page read as a page of the <c>key</c> bucket.</summary>
    internal struct Facts
    {
        public long LastRevision;
        public int OpStart;
        public ushort OpCount;
        public bool RevisionKeys;
    }
}

/// <summary>A put (or, with <see cref="Tombstone"/>, a delete) of the user key at <see cref="Offset"/> in the file.</summary>
internal struct MvccOp
{
    public ulong Hash;
    public long Offset;
    public int Length;
    public bool Tombstone;
}
