using Talos.Recovery.Bolt;
using Talos.Recovery.Cli.CommandLine;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Cli.Commands;

/// <summary><c>talos-recovery snapshot status | verify | inspect</c>: offline work on etcd snapshot files.</summary>
internal static class SnapshotCommands
{
    private static readonly CliArgument File = new("FILE", "the snapshot file (etcdctl snapshot save, talosctl etcd snapshot, or a copy of member/snap/db)");

    private static readonly CliOption StatusWriteOut = new("write-out", 'w', "output format: simple, json, table or fields", "format") { DefaultValue = "simple" };

    private static readonly CliOption VerifyWriteOut = new("write-out", 'w', "output format: text or json", "format") { DefaultValue = "text" };

    private static readonly CliOption InspectWriteOut = new("write-out", 'w', "output format: table or json", "format") { DefaultValue = "table" };

    private static readonly CliOption SkipHashCheck = new("skip-hash-check", null, "accept a file without SHA-256 trailer (a copy of member/snap/db); a trailer present is not compared either");

    public static CliCommand Create()
    {
        var snapshot = new CliCommand("snapshot", "Check and describe etcd snapshot files")
        {
            Description = "Check and describe etcd snapshot files, offline: nothing is contacted and the file is never modified.",
        };

        snapshot.Add(new CliCommand("status", "Print a snapshot's hash, revision, total keys and size exactly as etcdctl does")
        {
            Description = """
                Print a snapshot's hash, revision, total keys and total size exactly as `etcdctl snapshot status`
                (etcd 3.4/3.5) prints them, in the same output formats. Like etcdctl, the structure is checked first and
                the SHA-256 trailer is ignored; use `snapshot verify` to check the trailer too.
                """,
            Examples = """
                talos-recovery snapshot status db.snapshot
                talos-recovery snapshot status db.snapshot -w json
                """,
            Handler = StatusAsync,
        }.Add(File).Add(StatusWriteOut));

        snapshot.Add(new CliCommand("verify", "Check every page, the etcd status and the SHA-256 trailer of a snapshot")
        {
            Description = """
                Check everything that can be checked before a restore: every bbolt invariant (bbolt's tx.Check and the
                ones it skips), the etcd status, and the SHA-256 trailer that etcd appends to streamed snapshots.
                Exits with 0 when the snapshot is valid and 1 when it is not, with one line per problem on stderr.
                """,
            Examples = """
                talos-recovery snapshot verify db.snapshot
                talos-recovery snapshot verify /var/lib/etcd/member/snap/db --skip-hash-check
                """,
            Handler = VerifyAsync,
        }.Add(File).Add(SkipHashCheck).Add(VerifyWriteOut));

        snapshot.Add(new CliCommand("inspect", "Describe what is in a snapshot: pages, buckets, members, keys per resource")
        {
            Description = """
                Verify a snapshot (as `snapshot verify`) and describe what is in it: bbolt pages by use and fragmentation,
                top-level buckets, etcd meta data, members, and live keys per Kubernetes resource.
                Exits with 0 when the snapshot is valid and 1 when it is not.
                """,
            Handler = InspectAsync,
        }.Add(File).Add(SkipHashCheck).Add(InspectWriteOut));

        return snapshot;
    }

    private static Task<int> StatusAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        if (invocation.ParseResult.GetValue(StatusWriteOut) == "protobuf")
        {
            throw new CliUsageException("protobuf not supported as output format", invocation.Command); // etcdctl's words
        }

        var format = invocation.GetChoice(
            StatusWriteOut,
            ("simple", SnapshotStatusFormat.Simple),
            ("json", SnapshotStatusFormat.Json),
            ("table", SnapshotStatusFormat.Table),
            ("fields", SnapshotStatusFormat.Fields));

        using var snapshot = SnapshotFile.Open(invocation.Arguments[0]);
        // etcdctl 3.4's status does not report etcd 3.6's live-key count: skip it, and its memory.
        var status = snapshot.GetStatus(new SnapshotVerifyOptions { CountLiveKeys = false }, cancellationToken);
        invocation.WriteLine(SnapshotStatusFormatter.Format(status, format));
        return Task.FromResult(ExitCodes.Success);
    }

    private static Task<int> VerifyAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        var format = invocation.GetChoice(VerifyWriteOut, ("text", SnapshotInspectionFormat.Table), ("json", SnapshotInspectionFormat.Json));
        using var snapshot = SnapshotFile.Open(invocation.Arguments[0]);
        var result = snapshot.Verify(VerifyOptions(invocation), cancellationToken);

        if (format == SnapshotInspectionFormat.Json)
        {
            invocation.WriteLine(SnapshotInspectionFormatter.Format(result, SnapshotInspectionFormat.Json));
        }
        else
        {
            invocation.WriteLine(SnapshotInspectionFormatter.FormatVerificationSummary(result));
            foreach (var line in SnapshotInspectionFormatter.FormatProblems(result))
            {
                // Warnings of a valid snapshot are part of the report; the problems of a damaged one are diagnostics.
                if (result.IsValid)
                {
                    invocation.WriteLine(line);
                }
                else
                {
                    invocation.WriteErrorLine(line);
                }
            }
        }

        return Task.FromResult(Conclude(invocation, result));
    }

    private static Task<int> InspectAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        var format = invocation.GetChoice(InspectWriteOut, ("table", SnapshotInspectionFormat.Table), ("json", SnapshotInspectionFormat.Json));
        using var snapshot = SnapshotFile.Open(invocation.Arguments[0]);
        var inspection = snapshot.Inspect(VerifyOptions(invocation), cancellationToken);
        invocation.WriteLine(SnapshotInspectionFormatter.Format(inspection, format));
        return Task.FromResult(Conclude(invocation, inspection.Verification));
    }

    private static SnapshotVerifyOptions VerifyOptions(CliInvocation invocation) =>
        new() { SkipHashCheck = invocation.ParseResult.GetFlag(SkipHashCheck) };

    /// <summary>The exit code of a verification, with the closing error line and a hint when it failed.</summary>
    private static int Conclude(CliInvocation invocation, SnapshotVerification result)
    {
        if (result.IsValid)
        {
            return ExitCodes.Success;
        }

        var errors = result.Problems.Count(p => p.Severity == BoltProblemSeverity.Error) + result.ProblemsNotRecorded;
        invocation.WriteErrorLine($"Error: {result.Path ?? "snapshot"}: verification failed with {errors} error{(errors == 1 ? string.Empty : "s")}; do not restore this snapshot");
        if (result.Problems.Any(p => p.Code == BoltProblemCode.TrailerMissing))
        {
            invocation.WriteErrorLine("Hint: the file has no SHA-256 trailer, like a copy of member/snap/db; pass --skip-hash-check to verify it without one.");
        }

        return ExitCodes.Failure;
    }
}
