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

    private readonly Facts[] _facts;
    private MvccOp[] _ops = [];
    private int _opsLength;

    public SnapshotStreamSummaries(long pageSize, long pages, bool recordOps)
    {
        Pages = new BoltLeafSummaries(pageSize, pages);
        _facts = new Facts[Pages.Pages];
        RecordsOps = recordOps;
        if (recordOps)
        {
            // About three revisions a page in an etcd key bucket; grows by doubling for anything denser.
            _ops = new MvccOp[(int)Math.Clamp(pages * 3, 1 << 8, MaxOps / 4)];
        }
    }

    public BoltLeafSummaries Pages { get; }

    /// <summary>Whether revision pages carry their live-key operations.</summary>
    public bool RecordsOps { get; }

    public bool Exhausted => Pages.Exhausted;

    public ref readonly Facts this[long pageId] => ref _facts[pageId];

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
        if ((ulong)pageId < (ulong)_facts.Length)
        {
            _facts[pageId] = facts;
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
