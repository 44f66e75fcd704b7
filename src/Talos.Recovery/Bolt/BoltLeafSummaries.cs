namespace Talos.Recovery.Bolt;

/// <summary>
/// Compact summaries of leaf pages, made while the bytes streamed past, so that the final walk does not have to read
/// those pages again. A page has a summary only when it is "clean": its header names its own id, it is a leaf with at
/// least one element and no bucket element, every element and key lies inside the page and within bbolt's limits, and
/// its keys strictly increase. For such a page the walk's own checks cannot fail except across pages (first key
/// against the lower bound, last key against the upper bound), so the walk uses the summary after checking those two,
/// and reads the page as usual otherwise.
/// </summary>
/// <remarks>
/// A summary is a pure function of the bytes at the page's position, which are the bytes the file holds there: using
/// it gives the result reading the page would. Whether a page is reachable is not known when it is summarized; a free
/// page's summary is simply never used. What a visitor needs beyond this (for etcd: revisions, live keys) it keeps
/// itself, by page id.
/// </remarks>
internal sealed class BoltLeafSummaries
{
    /// <summary>The most bytes of keys kept; pages after that get no summary.</summary>
    private const int MaxKeyBytes = 256 << 20;

    private readonly Entry[] _entries;
    private byte[] _keys;
    private int _keysLength;

    public BoltLeafSummaries(long pageSize, long pages)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pages);
        PageSize = pageSize;
        _entries = new Entry[(int)Math.Min(pages, int.MaxValue)];

        // Sized for two etcd revision keys (17 bytes) a page, so a typical snapshot never grows it.
        _keys = new byte[(int)Math.Clamp(pages * 35, 1 << 12, MaxKeyBytes / 4)];
    }

    public long PageSize { get; }

    public long Pages => _entries.Length;

    /// <summary>Set once the key arena reached its cap: later pages got no summary (the walk reads them).</summary>
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

    /// <summary>Stores a key in the arena; -1 when the arena is full.</summary>
    public int AddKey(ReadOnlySpan<byte> key)
    {
        if (_keysLength + key.Length > _keys.Length)
        {
            var grown = Math.Max(_keys.Length * 2L, _keysLength + (long)key.Length);
            if (grown > MaxKeyBytes)
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

    public void Set(long id, in Entry entry)
    {
        if ((ulong)id < (ulong)_entries.Length)
        {
            _entries[id] = entry;
        }
    }

    /// <summary>
    /// One clean leaf page; Count &gt; 0 marks a present summary. <see cref="Register"/> is the CRC-32C register, from a
    /// zero start, of every key and value in element order, <see cref="DataLength"/> their total length.
    /// </summary>
    internal struct Entry
    {
        public ushort Count;
        public ushort FirstLength;
        public ushort LastLength;
        public uint Overflow;
        public int FirstKey;
        public int LastKey;
        public uint Register;
        public uint DataLength;
    }
}
