namespace Talos.Recovery.Bolt;

/// <summary>What a leaf element holds.</summary>
internal enum BoltEntryKind
{
    /// <summary>A key with a value.</summary>
    Value = 0,

    /// <summary>A sub-bucket with pages of its own; the value passed is empty.</summary>
    Bucket = 1,

    /// <summary>A sub-bucket stored inline in the value; the value passed is empty.</summary>
    InlineBucket = 2,
}

/// <summary>
/// Receives every entry of every bucket in bbolt cursor order. Depth 0 is the root bucket (its entries are the
/// top-level bucket names); a bucket entry at depth d is followed at once by its own entries at depth d + 1.
/// Implement it on a struct: the walker is generic over the visitor so calls are direct and inlinable.
/// </summary>
internal interface IBoltVisitor
{
    /// <summary>An entry. <paramref name="keyOffset"/> is the key's absolute file offset, <paramref name="pageId"/> the page holding it.</summary>
    void OnEntry(int depth, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, BoltEntryKind kind, long pageId, long keyOffset);

    /// <summary>
    /// A clean leaf page at <paramref name="depth"/> that has a summary (<see cref="BoltLeafSummaries"/>), whose keys
    /// already passed every order check: true when the visitor took the summary in place of the page's entries (the
    /// walk then does not read the page), false to have the entries one by one.
    /// </summary>
    bool TryApplySummary(int depth, long pageId, in BoltLeafSummaries.Entry summary);
}
