using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Talos.Recovery.Client;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Recovery;

/// <summary>Reads and writes <c>manifest.json</c> with the reader/writer APIs (no reflection).</summary>
internal static class BackupManifestJson
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        NewLine = "\n",
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static byte[] Write(BackupManifest manifest)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteNumber("formatVersion", manifest.FormatVersion);
            w.WriteString("createdAt", manifest.CreatedAt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
            WriteOptional(w, "context", manifest.Context);
            WriteOptional(w, "cluster", manifest.Cluster);
            var s = manifest.Snapshot;
            w.WriteStartObject("snapshot");
            w.WriteString("file", s.FileName);
            w.WriteString("method", s.Method == BackupSnapshotMethod.EtcdSnapshot ? "etcdSnapshot" : "rawCopy");
            w.WriteString("sourceNode", s.SourceNode);
            w.WriteNumber("length", s.Length);
            w.WriteString("sha256", s.Sha256);
            w.WriteBoolean("trailer", s.HasTrailer);
            w.WriteStartObject("status");
            w.WriteString("hash", s.Status.Hash.ToString("x8", CultureInfo.InvariantCulture));
            w.WriteNumber("revision", s.Status.Revision);
            w.WriteNumber("totalKey", s.Status.TotalKey);
            w.WriteNumber("totalSize", s.Status.TotalSize);
            if (s.Status.LiveKeyCount is { } live)
            {
                w.WriteNumber("liveKeyCount", live);
            }

            w.WriteString("storageVersion", s.Status.StorageVersion);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartArray("nodes");
            foreach (var n in manifest.Nodes)
            {
                w.WriteStartObject();
                w.WriteString("node", n.Node);
                WriteOptional(w, "hostname", n.Hostname);
                WriteOptional(w, "machineType", n.MachineType is { } type ? MachineTypeName(type) : null);
                WriteOptional(w, "talosVersion", n.TalosVersion);
                WriteOptional(w, "machineConfig", n.MachineConfigFile);
                WriteOptional(w, "machineConfigSha256", n.MachineConfigSha256);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("notes");
            foreach (var note in manifest.Notes)
            {
                w.WriteStringValue(note);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        var bytes = new byte[buffer.WrittenCount + 1];
        buffer.WrittenSpan.CopyTo(bytes);
        bytes[^1] = (byte)'\n';
        return bytes;
    }

    /// <summary>Parses a manifest; <see cref="FormatException"/> names the first field that is missing or wrong.</summary>
    public static BackupManifest Read(ReadOnlyMemory<byte> json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new FormatException($"not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            var root = Object(document.RootElement, "(root)");
            var version = Int(root, "formatVersion");
            if (version != BackupManifest.CurrentFormatVersion)
            {
                throw new FormatException($"formatVersion {version} is not supported (this SDK reads {BackupManifest.CurrentFormatVersion})");
            }

            if (!DateTimeOffset.TryParse(String(root, "createdAt"), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var createdAt))
            {
                throw new FormatException("createdAt: not an ISO 8601 time");
            }

            var s = Object(Property(root, "snapshot"), "snapshot");
            var st = Object(Property(s, "status"), "snapshot.status");
            if (!uint.TryParse(String(st, "hash"), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var hash))
            {
                throw new FormatException("snapshot.status.hash: not 8 hexadecimal digits");
            }

            var status = new SnapshotStatus(
                hash,
                Long(st, "revision"),
                Long(st, "totalKey"),
                Long(st, "totalSize"),
                st.TryGetProperty("liveKeyCount", out var live) && live.ValueKind == JsonValueKind.Number ? live.GetInt64() : null,
                OptionalString(st, "storageVersion") ?? string.Empty);
            var method = String(s, "method") switch
            {
                "etcdSnapshot" => BackupSnapshotMethod.EtcdSnapshot,
                "rawCopy" => BackupSnapshotMethod.RawCopy,
                var other => throw new FormatException($"snapshot.method: '{other}' is neither etcdSnapshot nor rawCopy"),
            };
            var trailerProperty = Property(s, "trailer");
            if (trailerProperty.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                throw new FormatException("snapshot.trailer: not a boolean");
            }

            var snapshot = new BackupSnapshot(String(s, "file"), method, String(s, "sourceNode"), Long(s, "length"), String(s, "sha256"), trailerProperty.GetBoolean(), status);
            var nodes = new List<BackupNode>();
            foreach (var item in Array(root, "nodes"))
            {
                var n = Object(item, "nodes[]");
                var typeName = OptionalString(n, "machineType");
                nodes.Add(new BackupNode(
                    String(n, "node"),
                    OptionalString(n, "hostname"),
                    typeName is null ? null : ParseMachineType(typeName),
                    OptionalString(n, "talosVersion"),
                    OptionalString(n, "machineConfig"),
                    OptionalString(n, "machineConfigSha256")));
            }

            var notes = root.TryGetProperty("notes", out _) ? Array(root, "notes").Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new FormatException("notes: not a string")).ToList() : [];
            return new BackupManifest(version, createdAt, OptionalString(root, "context"), OptionalString(root, "cluster"), snapshot, nodes, notes);
        }
    }

    internal static string MachineTypeName(TalosMachineType type) => type switch
    {
        TalosMachineType.Init => "init",
        TalosMachineType.ControlPlane => "controlplane",
        TalosMachineType.Worker => "worker",
        _ => "unknown",
    };

    private static TalosMachineType ParseMachineType(string name) => name switch
    {
        "init" => TalosMachineType.Init,
        "controlplane" => TalosMachineType.ControlPlane,
        "worker" => TalosMachineType.Worker,
        _ => TalosMachineType.Unknown,
    };

    private static void WriteOptional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static JsonElement Object(JsonElement e, string name)
        => e.ValueKind == JsonValueKind.Object ? e : throw new FormatException($"{name}: not an object");

    private static JsonElement Property(JsonElement e, string name)
        => e.TryGetProperty(name, out var value) ? value : throw new FormatException($"{name}: missing");

    private static string String(JsonElement e, string name)
    {
        var value = Property(e, name);
        return value.ValueKind == JsonValueKind.String ? value.GetString()! : throw new FormatException($"{name}: not a string");
    }

    private static string? OptionalString(JsonElement e, string name)
    {
        if (!e.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw new FormatException($"{name}: not a string");
    }

    private static long Long(JsonElement e, string name)
    {
        var value = Property(e, name);
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) ? n : throw new FormatException($"{name}: not an integer");
    }

    private static int Int(JsonElement e, string name)
    {
        var value = Property(e, name);
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) ? n : throw new FormatException($"{name}: not an integer");
    }

    private static JsonElement.ArrayEnumerator Array(JsonElement e, string name)
    {
        var value = Property(e, name);
        return value.ValueKind == JsonValueKind.Array ? value.EnumerateArray() : throw new FormatException($"{name}: not an array");
    }
}
