namespace Talos.Recovery.Tests.Bolt.Support;

/// <summary>Hand-writes branch and leaf pages into a file, for shapes the builder never produces (DAGs, chains).</summary>
internal static class RawPages
{
    /// <summary>Writes a branch page at <paramref name="id"/> with the given (key, child) elements.</summary>
    public static void Branch(byte[] file, int pageSize, ulong id, IReadOnlyList<(byte[] Key, ulong Child)> elements)
    {
        var at = (int)((long)id * pageSize);
        var page = file.AsSpan(at, pageSize);
        page.Clear();
        BoltBytes.U64(page, 0, id);
        BoltBytes.U16(page, 8, BoltBytes.BranchFlag);
        BoltBytes.U16(page, 10, (ushort)elements.Count);
        var data = 16 + (16 * elements.Count);
        for (var i = 0; i < elements.Count; i++)
        {
            var element = 16 + (16 * i);
            BoltBytes.U32(page, element, (uint)(data - element));
            BoltBytes.U32(page, element + 4, (uint)elements[i].Key.Length);
            BoltBytes.U64(page, element + 8, elements[i].Child);
            elements[i].Key.CopyTo(page[data..]);
            data += elements[i].Key.Length;
        }
    }

    /// <summary>Writes a leaf page at <paramref name="id"/> with the given (flags, key, value) elements.</summary>
    public static void Leaf(byte[] file, int pageSize, ulong id, IReadOnlyList<(uint Flags, byte[] Key, byte[] Value)> elements)
    {
        var at = (int)((long)id * pageSize);
        var page = file.AsSpan(at, pageSize);
        page.Clear();
        BoltBytes.U64(page, 0, id);
        BoltBytes.U16(page, 8, BoltBytes.LeafFlag);
        BoltBytes.U16(page, 10, (ushort)elements.Count);
        var data = 16 + (16 * elements.Count);
        for (var i = 0; i < elements.Count; i++)
        {
            var element = 16 + (16 * i);
            BoltBytes.U32(page, element, elements[i].Flags);
            BoltBytes.U32(page, element + 4, (uint)(data - element));
            BoltBytes.U32(page, element + 8, (uint)elements[i].Key.Length);
            BoltBytes.U32(page, element + 12, (uint)elements[i].Value.Length);
            elements[i].Key.CopyTo(page[data..]);
            data += elements[i].Key.Length;
            elements[i].Value.CopyTo(page[data..]);
            data += elements[i].Value.Length;
        }
    }

    /// <summary>A 16-byte bucket header value naming <paramref name="root"/>.</summary>
    public static byte[] BucketValue(ulong root)
    {
        var value = new byte[16];
        BoltBytes.U64(value, 0, root);
        return value;
    }

    public static byte[] Key(int i) => System.Text.Encoding.ASCII.GetBytes($"k{i:D5}");
}
