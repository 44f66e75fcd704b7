using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Talos.Recovery.Snapshots;

/// <summary>Gathers etcd's own records (meta, cluster, members, auth, leases, alarms) for an inspection.</summary>
internal sealed class EtcdInspectionCollector
{
    private readonly List<SnapshotBucketCounter> _buckets = [];
    private readonly List<SnapshotMember> _members = [];
    private readonly HashSet<ulong> _removed = [];

    public ulong? ConsistentIndex { get; private set; }

    public ulong? Term { get; private set; }

    public long? ScheduledCompactRevision { get; private set; }

    public long? FinishedCompactRevision { get; private set; }

    public string? ClusterVersion { get; private set; }

    public string? StorageVersion { get; private set; }

    public bool AuthEnabled { get; private set; }

    public long Leases { get; private set; }

    public long Alarms { get; private set; }

    public long Tombstones { get; private set; }

    public IReadOnlyList<SnapshotBucket> Buckets => _buckets.Select(b => new SnapshotBucket(b.Name, b.Keys, b.Inline)).ToList();

    public IReadOnlyList<SnapshotMember> Members =>
        _members.Select(m => m with { Removed = _removed.Contains(m.Id) })
            .Concat(_removed.Where(id => _members.All(m => m.Id != id)).Select(id => new SnapshotMember(id, string.Empty, [], [], false, true)))
            .ToList();

    public SnapshotBucketCounter AddBucket(ReadOnlySpan<byte> name, bool inline)
    {
        var counter = new SnapshotBucketCounter { Name = Encoding.UTF8.GetString(name), Inline = inline };
        _buckets.Add(counter);
        return counter;
    }

    public void OnTombstone() => Tombstones++;

    public void OnMeta(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (key.SequenceEqual("consistent_index"u8) && value.Length == 8)
        {
            ConsistentIndex = BinaryPrimitives.ReadUInt64BigEndian(value);
        }
        else if (key.SequenceEqual("term"u8) && value.Length == 8)
        {
            Term = BinaryPrimitives.ReadUInt64BigEndian(value);
        }
        else if (key.SequenceEqual("scheduledCompactRev"u8) && value.Length >= 8)
        {
            ScheduledCompactRevision = BinaryPrimitives.ReadInt64BigEndian(value);
        }
        else if (key.SequenceEqual("finishedCompactRev"u8) && value.Length >= 8)
        {
            FinishedCompactRevision = BinaryPrimitives.ReadInt64BigEndian(value);
        }
        else if (key.SequenceEqual("storageVersion"u8))
        {
            StorageVersion = Encoding.UTF8.GetString(value);
        }
    }

    public void OnEntry(EtcdBucket bucket, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        switch (bucket)
        {
            case EtcdBucket.Cluster when key.SequenceEqual("clusterVersion"u8):
                ClusterVersion = Encoding.UTF8.GetString(value);
                break;
            case EtcdBucket.Auth when key.SequenceEqual("authEnabled"u8):
                AuthEnabled = value.Length == 1 && value[0] == 1;
                break;
            case EtcdBucket.Lease:
                Leases++;
                break;
            case EtcdBucket.Alarm:
                Alarms++;
                break;
            case EtcdBucket.Members:
                if (TryParseMember(value) is { } member)
                {
                    _members.Add(member);
                }

                break;
            case EtcdBucket.MembersRemoved:
                if (ulong.TryParse(Encoding.ASCII.GetString(key), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var id))
                {
                    _removed.Add(id);
                }

                break;
        }
    }

    private static SnapshotMember? TryParseMember(ReadOnlySpan<byte> json)
    {
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("id", out var idElement) || !idElement.TryGetUInt64(out var id))
            {
                return null;
            }

            return new SnapshotMember(
                id,
                root.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString()! : string.Empty,
                Strings(root, "peerURLs"),
                Strings(root, "clientURLs"),
                root.TryGetProperty("isLearner", out var learner) && learner.ValueKind == JsonValueKind.True,
                false);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string[] Strings(JsonElement root, string property) =>
        root.TryGetProperty(property, out var array) && array.ValueKind == JsonValueKind.Array
            ? array.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToArray()
            : [];
}
