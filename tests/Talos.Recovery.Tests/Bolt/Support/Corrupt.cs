using Talos.Recovery.Bolt;

namespace Talos.Recovery.Tests.Bolt.Support;

/// <summary>Shared plumbing of the hand-made corruption tests.</summary>
internal static class Corrupt
{
    /// <summary>
    /// Asserts the corrupted bytes are reported with one of <paramref name="codes"/> (as an error) at
    /// <paramref name="page"/> with an offset inside that page's span (when <paramref name="page"/> is given and
    /// <paramref name="checkOffset"/>), and that GetStatus throws the typed exception.
    /// </summary>
    public static void Expect(BoltFile f, byte[] bytes, BoltProblemCode[] codes, ulong? page = null, bool checkOffset = true, long[]? alsoPages = null)
    {
        long[]? pages = page is { } p ? [(long)p, .. alsoPages ?? []] : null;
        (long, long)? range = null;
        if (page is { } id && checkOffset)
        {
            var overflow = id < f.Pgid ? BoltBytes.ReadU32(f.Bytes, f.PageOffset(id) + 12) : 0;
            range = CheckerAssert.PageRange(f, id, (int)Math.Min(overflow, 1000));
        }

        CheckerAssert.Rejected(bytes, skipHashCheck: !f.HasTrailer, codes, pages, range);
        CheckerAssert.GetStatusThrows(bytes, codes);
    }

    /// <summary>The first element index i of leaf <paramref name="leaf"/> whose key and the next key both have length <paramref name="length"/>.</summary>
    public static int AdjacentSameLength(BoltFile f, ulong leaf, int length)
    {
        var count = f.Page(leaf).Count;
        for (var i = 0; i + 1 < count; i++)
        {
            if (f.Element(leaf, i).KeyLength == length && f.Element(leaf, i + 1).KeyLength == length)
            {
                return i;
            }
        }

        throw new InvalidOperationException($"no adjacent keys of length {length} on page {leaf}");
    }

    /// <summary>Copies the key of <paramref name="from"/> over the key of <paramref name="to"/> (same length).</summary>
    public static void CopyKey(byte[] bytes, BoltElementRef from, BoltElementRef to)
    {
        if (from.KeyLength != to.KeyLength)
        {
            throw new InvalidOperationException("keys of different length");
        }

        var tmp = bytes.AsSpan((int)from.KeyOffset, from.KeyLength).ToArray();
        tmp.CopyTo(bytes.AsSpan((int)to.KeyOffset));
    }

    /// <summary>Swaps the bytes of two same-length keys.</summary>
    public static void SwapKeys(byte[] bytes, BoltElementRef a, BoltElementRef b)
    {
        var ka = bytes.AsSpan((int)a.KeyOffset, a.KeyLength).ToArray();
        var kb = bytes.AsSpan((int)b.KeyOffset, b.KeyLength).ToArray();
        if (ka.Length != kb.Length)
        {
            throw new InvalidOperationException("keys of different length");
        }

        kb.CopyTo(bytes.AsSpan((int)a.KeyOffset));
        ka.CopyTo(bytes.AsSpan((int)b.KeyOffset));
    }
}
