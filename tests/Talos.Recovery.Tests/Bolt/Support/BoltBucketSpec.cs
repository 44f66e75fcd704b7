using System.Text;

namespace Talos.Recovery.Tests.Bolt.Support;

/// <summary>How a bucket is stored in its parent's leaf.</summary>
internal enum BucketStorage
{
    /// <summary>bbolt's writer rule: inline when it has no sub-buckets and 16 + Σ(16 + k + v) ≤ P/4.</summary>
    Auto = 0,

    /// <summary>Always inline, even past the size rule (bbolt readers accept it). Throws if it has sub-buckets.</summary>
    Inline = 1,

    /// <summary>Always on its own page(s), even when small (a bucket that shrank keeps its page).</summary>
    Page = 2,
}

/// <summary>One entry of a bucket description: a plain value, or a nested bucket.</summary>
internal sealed record BoltEntrySpec(byte[] Key, byte[]? Value, BoltBucketSpec? Bucket);

/// <summary>
/// The description of a bucket for <see cref="BoltFileBuilder"/>: keys with values and nested buckets, kept in
/// bbolt's bytewise order.
/// </summary>
internal sealed class BoltBucketSpec
{
    private readonly SortedDictionary<byte[], BoltEntrySpec> _entries = new(ByteArrayComparer.Instance);

    internal BoltBucketSpec(byte[] name, string path)
    {
        Name = name;
        Path = path;
    }

    /// <summary>The bucket's key in its parent (empty for the root bucket).</summary>
    public byte[] Name { get; }

    /// <summary>Names from the root, separated by '/': "key", "test/nested"; "" for the root bucket.</summary>
    public string Path { get; }

    /// <summary>The bucket's NextSequence counter (etcd: always 0).</summary>
    public ulong Sequence { get; set; }

    /// <summary>Inline or page storage; default: the writer rule.</summary>
    public BucketStorage Storage { get; set; }

    /// <summary>Entries in key order.</summary>
    public IEnumerable<BoltEntrySpec> Entries => _entries.Values;

    public int Count => _entries.Count;

    public bool HasSubBuckets => _entries.Values.Any(e => e.Bucket is not null);

    public BoltBucketSpec Put(string key, string value) => Put(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value));

    public BoltBucketSpec Put(string key, byte[] value) => Put(Encoding.UTF8.GetBytes(key), value);

    /// <summary>Adds or replaces a plain key/value.</summary>
    public BoltBucketSpec Put(byte[] key, byte[] value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        if (_entries.TryGetValue(key, out var existing) && existing.Bucket is not null)
        {
            throw new InvalidOperationException($"{Path}: key {BoltBytes.Hex(key)} is a bucket");
        }

        _entries[key.ToArray()] = new BoltEntrySpec(key.ToArray(), value.ToArray(), null);
        return this;
    }

    public BoltBucketSpec Bucket(string name) => Bucket(Encoding.UTF8.GetBytes(name));

    /// <summary>Returns the nested bucket <paramref name="name"/>, creating it when missing.</summary>
    public BoltBucketSpec Bucket(byte[] name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_entries.TryGetValue(name, out var existing))
        {
            return existing.Bucket ?? throw new InvalidOperationException($"{Path}: key {BoltBytes.Hex(name)} is a value");
        }

        var text = Encoding.UTF8.GetString(name);
        var child = new BoltBucketSpec(name.ToArray(), Path.Length == 0 ? text : Path + "/" + text);
        _entries[name.ToArray()] = new BoltEntrySpec(name.ToArray(), null, child);
        return child;
    }

    public BoltEntrySpec? Get(byte[] key) => _entries.TryGetValue(key, out var e) ? e : null;
}
