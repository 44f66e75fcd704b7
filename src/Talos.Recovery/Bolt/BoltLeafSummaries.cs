namespace Talos.Recovery.Bolt;

/// <summary>
/// Compact summaries of leaf pages, made while the bytes streamed past (see <c>SnapshotStreamScanner</c>), so that
/// the final walk does not have to read those pages again. A page has a summary only when it is "clean": its header
/// names its own id, it is a leaf with at least one element and no bucket element, every element and key lies inside
/// the page and within bbolt's limits, and its keys strictly increase. For such a page the walk's own checks cannot
/// fail except across pages (first key against the lower bound, last key against the upper bound), so the walk uses
/// the summary after checking those two, and reads the page as usual otherwise.
/// </summary>
/// <remarks>
/// A summary is a pure function of the bytes at the page's position, which are the bytes the file holds there: using
/// it gives the result reading the page would. Whether a page is reachable is not known when it is summarized; a free
/// page's summary is simply never used.
/// </remarks>
internal sealed class BoltLeafSummaries
{
    private const int MaxArenaLength = 256 << 20;

    private readonly Entry[] _entries;
    private byte[] _keys = new byte[1 << 16];
    private int _keysLength;
    private MvccOp[] _ops = [];
    private int _opsLength;

    public BoltLeafSummaries(long pageSize, long pages, bool recordOps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pages);
        PageSize = pageSize;
        _entries = new Entry[(int)Math.Min(pages, int.MaxValue)];
        RecordsOps = recordOps;
        if (recordOps)
        {
            _ops = new MvccOp[1 << 12];
        }
    }

    public long PageSize { get; }

    public long Pages => _entries.Length;

    /// <summary>Whether revision-key pages carry their live-key operations (<see cref="Ops"/>).</summary>
    public bool RecordsOps { get; }

    /// <summary>Set once the arenas reached their cap: later pages got no summary (the walk reads them).</summary>
    public bool Exhausted { get; private set; }

    public bool TryGet(long id, out Entry entry)
    {
        if ((ulong)id < (ulong)_entries.Length && _entries[id].Count > 0)
        {
            entry = _entries[id];
            return true;
        }

        entry = default;
        return false;
    }

    public ReadOnlySpan<byte> Key(int offset, int length) => _keys.AsSpan(offset, length);

    public ReadOnlySpan<MvccOp> Ops(in Entry entry) => entry.OpCount == 0 ? default : _ops.AsSpan(entry.OpStart, entry.OpCount);

    /// <summary>Stores a key in the arena; -1 when the arena is full.</summary>
    public int AddKey(ReadOnlySpan<byte> key)
    {
        if (_keysLength + key.Length > _keys.Length)
        {
            var grown = Math.Max(_keys.Length * 2L, _keysLength + (long)key.Length);
            if (grown > MaxArenaLength)
            {
                Exhausted = true;
                return -1;
            }

            Array.Resize(ref _keys, (int)grown);
        }

        var offset = _keysLength;
        key.CopyTo(_keys.AsSpan(offset));
        _keysLength += key.Length;
        return offset;
    }

    /// <summary>Reserves room for <paramref name="count"/> operations; -1 when the arena is full.</summary>
    public int ReserveOps(int count)
    {
        if (_opsLength + count > _ops.Length)
        {
            var grown = Math.Max(_ops.Length * 2L, _opsLength + (long)count);
            if (grown * 24 > MaxArenaLength)
            {
                Exhausted = true;
                return -1;
            }

            Array.Resize(ref _ops, (int)grown);
        }

        var start = _opsLength;
        _opsLength += count;
        return start;
    }

    public Span<MvccOp> OpsAt(int start, int count) => _ops.AsSpan(start, count);

    /// <summary>Drops the operations reserved from <paramref name="start"/> on (the page turned out not to qualify).</summary>
    public void ReleaseOps(int start) => _opsLength = start;

    public void Set(long id, in Entry entry)
    {
        if ((ulong)id < (ulong)_entries.Length)
        {
            _entries[id] = entry;
        }
    }

    /// <summary>
    /// One clean leaf page. Count &gt; 0 marks a present summary. <see cref="Register"/> is the CRC-32C register, from a
    /// zero start, of every key and value in element order, <see cref="DataLength"/> their total length.
    /// <see cref="LastRevision"/> and <see cref="RevisionKeys"/> describe the page as a page of etcd's <c>key</c>
    /// bucket: every key a valid revision key whose value is a readable <c>mvccpb.KeyValue</c>, and the main revision
    /// of the last key; <see cref="OpStart"/>/<see cref="OpCount"/> its live-key operations, when recorded.
    /// </summary>
    internal struct Entry
    {
        public ushort Count;
        public ushort FirstLength;
        public ushort LastLength;
        public bool RevisionKeys;
        public uint Overflow;
        public int FirstKey;
        public int LastKey;
        public uint Register;
        public long DataLength;
        public long LastRevision;
        public int OpStart;
        public int OpCount;
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
