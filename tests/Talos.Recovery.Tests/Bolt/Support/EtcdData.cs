using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Talos.Recovery.Tests.Bolt.Support;

/// <summary>The shape of etcd-like content for <see cref="EtcdData.AddEtcdBuckets"/>.</summary>
internal sealed record EtcdShape
{
    /// <summary>Entries in the <c>key</c> bucket (revisions 2, 3, …).</summary>
    public int Revisions { get; init; } = 20;

    /// <summary>Distinct user keys the revisions cycle through.</summary>
    public int UserKeys { get; init; } = 8;

    /// <summary>Size of each user value.</summary>
    public int ValueSize { get; init; } = 24;

    /// <summary>Every n-th revision gets a value of <see cref="BigValueSize"/> (0 = never).</summary>
    public int BigValueEvery { get; init; }

    public int BigValueSize { get; init; }

    /// <summary>Every n-th revision is a deletion (18-byte key ending in 't') of an existing key (0 = never).</summary>
    public int TombstoneEvery { get; init; } = 7;

    public int Leases { get; init; } = 2;

    public int Members { get; init; } = 3;

    /// <summary>meta/storageVersion (etcd 3.6); null = absent as in 3.4.</summary>
    public string? StorageVersion { get; init; }

    public int Seed { get; init; } = 7;
}

/// <summary>etcd's bucket names and encodings (spec §5), for building realistic fixtures.</summary>
internal static class EtcdData
{
    public static readonly string[] BucketNames = ["alarm", "auth", "authRoles", "authUsers", "cluster", "key", "lease", "members", "members_removed", "meta"];

    /// <summary>main (8 bytes BE) '_' sub (8 bytes BE), plus 't' for a deletion (spec §3.4).</summary>
    public static byte[] RevisionKey(long main, long sub, bool tombstone = false)
    {
        var key = new byte[tombstone ? 18 : 17];
        BinaryPrimitives.WriteInt64BigEndian(key, main);
        key[8] = (byte)'_';
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(9), sub);
        if (tombstone)
        {
            key[17] = (byte)'t';
        }

        return key;
    }

    /// <summary>A gogo-marshalled <c>mvccpb.KeyValue</c>: fields in number order, zero fields omitted.</summary>
    public static byte[] KeyValue(byte[] key, long createRevision, long modRevision, long version, byte[]? value, long lease = 0)
    {
        var buffer = new List<byte>(key.Length + (value?.Length ?? 0) + 40);
        Bytes(buffer, 1, key);
        Varint(buffer, 2, createRevision);
        Varint(buffer, 3, modRevision);
        Varint(buffer, 4, version);
        if (value is { Length: > 0 })
        {
            Bytes(buffer, 5, value);
        }

        Varint(buffer, 6, lease);
        return buffer.ToArray();
    }

    /// <summary>Field 1 (key) of a <c>mvccpb.KeyValue</c>, or null when it does not parse.</summary>
    public static byte[]? KeyOfKeyValue(ReadOnlySpan<byte> message)
    {
        byte[] key = [];
        var i = 0;
        while (i < message.Length)
        {
            if (!ReadVarint(message, ref i, out var tag))
            {
                return null;
            }

            var wire = (int)(tag & 7);
            if (wire == 0)
            {
                if (!ReadVarint(message, ref i, out _))
                {
                    return null;
                }
            }
            else if (wire == 2)
            {
                if (!ReadVarint(message, ref i, out var length) || length > (ulong)(message.Length - i))
                {
                    return null;
                }

                if (tag >> 3 == 1)
                {
                    key = message.Slice(i, (int)length).ToArray();
                }

                i += (int)length;
            }
            else
            {
                return null;
            }
        }

        return key;
    }

    /// <summary>Adds etcd's ten buckets with content shaped by <paramref name="shape"/>.</summary>
    public static BoltFileBuilder AddEtcdBuckets(this BoltFileBuilder builder, EtcdShape? shape = null)
    {
        shape ??= new EtcdShape();
        var rng = new Random(shape.Seed);
        foreach (var name in BucketNames)
        {
            builder.Bucket(name);
        }

        builder.Bucket("auth").Put("authEnabled", [0]).Put("authRevision", BigEndian(1));
        builder.Bucket("cluster").Put("clusterVersion", "3.4.0");

        var key = builder.Bucket("key");
        var created = new Dictionary<int, (long Create, long Version)>();
        long revision = 1;
        for (var i = 0; i < shape.Revisions; i++)
        {
            revision++;
            var user = i % Math.Max(1, shape.UserKeys);
            var userKey = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"/registry/configmaps/default/cm-{user:D4}"));
            if (shape.TombstoneEvery > 0 && i % shape.TombstoneEvery == shape.TombstoneEvery - 1 && created.ContainsKey(user))
            {
                key.Put(RevisionKey(revision, 0, tombstone: true), KeyValue(userKey, 0, revision, 0, null));
                created.Remove(user);
                continue;
            }

            var size = shape.BigValueEvery > 0 && i % shape.BigValueEvery == shape.BigValueEvery - 1 ? shape.BigValueSize : shape.ValueSize;
            var value = new byte[size];
            rng.NextBytes(value);
            var (create, version) = created.TryGetValue(user, out var c) ? (c.Create, c.Version + 1) : (revision, 1L);
            created[user] = (create, version);
            key.Put(RevisionKey(revision, 0), KeyValue(userKey, create, revision, version, value));
        }

        var lease = builder.Bucket("lease");
        for (var i = 0; i < shape.Leases; i++)
        {
            var id = 0x0889_8600_0000_0000L + (i * 0x11);
            lease.Put(BigEndian(id), LeaseValue(id, 600));
        }

        var members = builder.Bucket("members");
        for (var i = 0; i < shape.Members; i++)
        {
            var id = 0xF4A3_0000_0000_0000UL + ((ulong)i * 0x1_0001);
            var json = string.Create(CultureInfo.InvariantCulture, $"{{\"id\":{id},\"peerURLs\":[\"https://10.5.0.{2 + i}:2380\"],\"name\":\"talos-cp-{i}\",\"clientURLs\":[\"https://10.5.0.{2 + i}:2379\"]}}");
            members.Put(id.ToString("x", CultureInfo.InvariantCulture), json);
        }

        var meta = builder.Bucket("meta");
        meta.Put("consistent_index", BigEndian(revision + 3));
        meta.Put("finishedCompactRev", RevisionKey(1, 0));
        meta.Put("scheduledCompactRev", RevisionKey(1, 0));
        if (shape.StorageVersion is not null)
        {
            meta.Put("storageVersion", shape.StorageVersion);
        }

        return builder;
    }

    public static byte[] BigEndian(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return bytes;
    }

    private static byte[] LeaseValue(long id, long ttl)
    {
        var buffer = new List<byte>();
        Varint(buffer, 1, id);
        Varint(buffer, 2, ttl);
        return buffer.ToArray();
    }

    private static void Varint(List<byte> buffer, int field, long value)
    {
        if (value == 0)
        {
            return;
        }

        WriteVarint(buffer, (ulong)(field << 3));
        WriteVarint(buffer, (ulong)value);
    }

    private static void Bytes(List<byte> buffer, int field, byte[] value)
    {
        WriteVarint(buffer, (ulong)((field << 3) | 2));
        WriteVarint(buffer, (ulong)value.Length);
        buffer.AddRange(value);
    }

    private static void WriteVarint(List<byte> buffer, ulong value)
    {
        while (value >= 0x80)
        {
            buffer.Add((byte)(value | 0x80));
            value >>= 7;
        }

        buffer.Add((byte)value);
    }

    private static bool ReadVarint(ReadOnlySpan<byte> data, ref int i, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (i >= data.Length)
            {
                return false;
            }

            var b = data[i++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }
}
