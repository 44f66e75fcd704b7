using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Talos.Recovery.Bolt;

namespace Talos.Recovery.Snapshots;

public static partial class SnapshotInspectionFormatter
{
    private static readonly JsonWriterOptions JsonOptions = new()
    {
        Indented = true,
        NewLine = "\n",
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // output for terminals and jq, not for HTML
    };

    private static string WriteJson(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, JsonOptions))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteVerification(Utf8JsonWriter writer, SnapshotVerification verification)
    {
        writer.WriteStartObject();
        writer.WriteString("path", verification.Path);
        writer.WriteNumber("fileLength", verification.FileLength);
        writer.WriteNumber("databaseLength", verification.DatabaseLength);
        writer.WriteBoolean("valid", verification.IsValid);
        writer.WriteString("trailer", JsonNamingPolicy.CamelCase.ConvertName(verification.Trailer.ToString()));
        WriteHex(writer, "expectedSha256", verification.ExpectedSha256);
        WriteHex(writer, "actualSha256", verification.ActualSha256);
        if (verification.Status is { } status)
        {
            writer.WriteStartObject("status");
            writer.WriteNumber("hash", status.Hash);
            writer.WriteNumber("revision", status.Revision);
            writer.WriteNumber("totalKey", status.TotalKey);
            writer.WriteNumber("totalSize", status.TotalSize);
            if (status.LiveKeyCount is { } liveKeys)
            {
                writer.WriteNumber("liveKeyCount", liveKeys);
            }
            writer.WriteString("storageVersion", status.StorageVersion);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull("status");
        }

        var (errors, warnings) = CountProblems(verification);
        writer.WriteNumber("errors", errors);
        writer.WriteNumber("warnings", warnings);
        writer.WriteStartArray("problems");
        foreach (var problem in verification.Problems)
        {
            writer.WriteStartObject();
            writer.WriteString("code", problem.Code.ToString());
            writer.WriteString("severity", problem.Severity == BoltProblemSeverity.Error ? "error" : "warning");
            WriteNullable(writer, "pageId", problem.PageId);
            WriteNullable(writer, "offset", problem.Offset);
            writer.WriteString("message", problem.Message);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteNumber("problemsNotRecorded", verification.ProblemsNotRecorded);
        writer.WriteEndObject();
    }

    private static void WriteInspection(Utf8JsonWriter writer, SnapshotInspection inspection)
    {
        writer.WriteStartObject();
        writer.WritePropertyName("verification");
        WriteVerification(writer, inspection.Verification);
        writer.WriteNumber("pageSize", inspection.PageSize);
        writer.WriteNumber("pageCount", inspection.PageCount);
        writer.WriteNumber("transactionId", inspection.TransactionId);
        writer.WriteBoolean("hasFreelist", inspection.HasFreelist);
        writer.WriteStartObject("pages");
        writer.WriteNumber("meta", inspection.Pages.Meta);
        writer.WriteNumber("freelist", inspection.Pages.Freelist);
        writer.WriteNumber("branch", inspection.Pages.Branch);
        writer.WriteNumber("leaf", inspection.Pages.Leaf);
        writer.WriteNumber("overflow", inspection.Pages.Overflow);
        writer.WriteNumber("free", inspection.Pages.Free);
        writer.WriteEndObject();
        writer.WriteNumber("fragmentation", inspection.Fragmentation);

        writer.WriteStartArray("buckets");
        foreach (var bucket in inspection.Buckets)
        {
            writer.WriteStartObject();
            writer.WriteString("name", bucket.Name);
            writer.WriteNumber("keys", bucket.Keys);
            writer.WriteBoolean("inline", bucket.Inline);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteString("clusterVersion", inspection.ClusterVersion);
        writer.WriteString("storageVersion", inspection.StorageVersion);
        WriteNullable(writer, "consistentIndex", inspection.ConsistentIndex);
        WriteNullable(writer, "term", inspection.Term);
        WriteNullable(writer, "scheduledCompactRevision", inspection.ScheduledCompactRevision);
        WriteNullable(writer, "finishedCompactRevision", inspection.FinishedCompactRevision);
        writer.WriteBoolean("authEnabled", inspection.AuthEnabled);
        writer.WriteNumber("leases", inspection.Leases);
        writer.WriteNumber("alarms", inspection.Alarms);
        writer.WriteNumber("keyRevisions", inspection.KeyRevisions);
        writer.WriteNumber("tombstones", inspection.Tombstones);
        writer.WriteNumber("liveKeys", inspection.LiveKeys);
        writer.WriteNumber("otherLiveKeys", inspection.OtherLiveKeys);

        writer.WriteStartArray("members");
        foreach (var member in inspection.Members)
        {
            writer.WriteStartObject();
            writer.WriteString("id", member.Id.ToString("x", CultureInfo.InvariantCulture)); // hex like etcdctl member list; a JSON number would lose precision in JavaScript
            writer.WriteString("name", member.Name);
            WriteStrings(writer, "peerUrls", member.PeerUrls);
            WriteStrings(writer, "clientUrls", member.ClientUrls);
            writer.WriteBoolean("isLearner", member.IsLearner);
            writer.WriteBoolean("removed", member.Removed);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteStartArray("resources");
        foreach (var resource in inspection.Resources)
        {
            writer.WriteStartObject();
            writer.WriteString("resource", resource.Resource);
            writer.WriteNumber("liveKeys", resource.LiveKeys);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteHex(Utf8JsonWriter writer, string name, ReadOnlyMemory<byte>? bytes)
    {
        if (Digest(bytes) is { } b)
        {
            writer.WriteString(name, Convert.ToHexStringLower(b.Span));
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static void WriteNullable(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static void WriteNullable(Utf8JsonWriter writer, string name, ulong? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static void WriteStrings(Utf8JsonWriter writer, string name, IReadOnlyList<string> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
    }
}
