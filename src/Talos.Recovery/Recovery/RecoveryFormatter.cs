using System.Globalization;
using System.Text;
using Talos.Recovery.Client;

namespace Talos.Recovery.Recovery;

/// <summary>Plain-text renderings of assessments and plans (the dry run), for terminals and logs.</summary>
public static class RecoveryFormatter
{
    private static string EtcdDataOn(NodeObservation node) => node.EtcdVolume switch
    {
        { IsSeparateVolume: true } v => $"ETCD ({v.Type.ToString().ToLowerInvariant()}{(v.Location.Length > 0 ? " " + v.Location : string.Empty)})",
        { } => "EPHEMERAL (ETCD directory)",
        null when node.HasNoEtcdVolume => "EPHEMERAL",
        null => "?",
    };

    /// <summary>The assessment: verdict, quorum, one row per node, differences, blockers, quorum-restore steps, notes.</summary>
    public static string FormatAssessment(ClusterAssessment assessment)
    {
        ArgumentNullException.ThrowIfNull(assessment);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"Verdict: {assessment.Verdict}\n");
        sb.Append(CultureInfo.InvariantCulture, $"Quorum: {assessment.HealthyMemberCount} of {assessment.VotingMemberCount} voting members healthy, {assessment.QuorumSize} needed ({(assessment.HasQuorum ? "held" : "lost")}); member lists {(assessment.MemberListsAgree ? "agree" : "differ")}\n\n");
        var rows = new List<string[]> { new[] { "NODE", "REACHABLE", "TYPE", "VERSION", "ETCD", "HEALTH", "MEMBER", "ETCD DATA ON", "LAST EVENT" } };
        foreach (var n in assessment.Nodes)
        {
            var member = assessment.Members.FirstOrDefault(m => m.Node == n.Node);
            rows.Add([
                n.Node,
                n.IsReachable ? "yes" : "no",
                n.MachineType is { } t ? BackupManifestJson.MachineTypeName(t) : "?",
                n.Version?.Tag ?? "?",
                n.EtcdService?.StateText ?? (n.EtcdStatus is not null ? "(status only)" : "?"),
                n.EtcdCondition.ToString(),
                member is null ? "-" : $"{member.Member.Name} {member.Member.Id:x16}{(member.Member.IsLearner ? " (learner)" : string.Empty)}",
                EtcdDataOn(n),
                n.LastEtcdEventMessage ?? n.Failures.FirstOrDefault()?.Message ?? string.Empty,
            ]);
        }

        Table(sb, rows);
        if (assessment.MemberListDifferences.Count > 0)
        {
            sb.Append("\nMember list differences:\n");
            foreach (var d in assessment.MemberListDifferences)
            {
                sb.Append(CultureInfo.InvariantCulture, $"  {d.MemberName} {d.MemberId:x16}: listed by {string.Join(", ", d.ListedBy)}; not by {string.Join(", ", d.NotListedBy)}\n");
            }
        }

        if (assessment.Blockers.Count > 0)
        {
            sb.Append("\nBlockers:\n");
            foreach (var b in assessment.Blockers)
            {
                sb.Append(CultureInfo.InvariantCulture, $"  [{b.Reason}] {b.Message}\n    way forward: {b.WayForward}\n");
            }
        }

        if (assessment.QuorumRestoreActions.Count > 0)
        {
            sb.Append("\nRestore quorum without a snapshot:\n");
            var i = 1;
            foreach (var a in assessment.QuorumRestoreActions)
            {
                sb.Append(CultureInfo.InvariantCulture, $"  {i++}. {a.Description}\n");
            }
        }

        Lines(sb, "Notes", assessment.Notes);
        if (assessment.MissingRoles.Count > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"\nSome answers need role(s): {string.Join(", ", assessment.MissingRoles)}\n");
        }

        return sb.ToString();
    }

    /// <summary>The plan as a dry run: the backup, the bootstrap node, every step with precondition, verification and timeout, warnings.</summary>
    public static string FormatPlan(RecoveryPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var sb = new StringBuilder();
        var s = plan.Backup.Manifest.Snapshot;
        sb.Append(CultureInfo.InvariantCulture, $"Recovery plan: {plan.Kind}{(plan.Forced ? " (FORCED past verdict " + plan.Assessment.Verdict + ")" : string.Empty)}; verdict at assessment: {plan.Assessment.Verdict}\n");
        sb.Append(CultureInfo.InvariantCulture, $"Backup: {plan.Backup.Directory} (taken {plan.Backup.Manifest.CreatedAt:u})\n");
        sb.Append(CultureInfo.InvariantCulture, $"  snapshot {s.FileName}: {s.Method} from {s.SourceNode}, {s.Length} bytes, sha256 {s.Sha256}, trailer {(s.HasTrailer ? "verified" : "absent")}\n");
        sb.Append(CultureInfo.InvariantCulture, $"  etcd status: revision {s.Status.Revision}, {s.Status.TotalKey} total keys{(s.Status.LiveKeyCount is { } live ? $", {live} live keys" : string.Empty)}, hash {s.Status.Hash:x8}\n");
        sb.Append(CultureInfo.InvariantCulture, $"  verified by this SDK at {plan.Backup.VerifiedAt:u}\n");
        sb.Append(CultureInfo.InvariantCulture, $"Nodes: {string.Join(", ", plan.Nodes)}\n");
        if (plan.BootstrapNode is { } boot)
        {
            sb.Append(CultureInfo.InvariantCulture, $"Bootstrap node: {boot}; node's hash check: {(plan.RecoverSkipHashCheck ? "skipped (raw copy without trailer)" : "on")}\n");
        }

        sb.Append("\nSteps:\n");
        foreach (var step in plan.Steps)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  {step.Number}. {step.Description}\n");
            sb.Append(CultureInfo.InvariantCulture, $"     before: {step.Precondition}\n");
            sb.Append(CultureInfo.InvariantCulture, $"     verify: {step.Verification}\n");
            sb.Append(CultureInfo.InvariantCulture, $"     timeout: {FormatTimeout(step.Timeout)}\n");
        }

        Lines(sb, "Warnings", plan.Warnings);
        return sb.ToString();
    }

    /// <summary>Where each step of a plan stands (the resume decision).</summary>
    public static string FormatResume(RecoveryResumePoint point)
    {
        ArgumentNullException.ThrowIfNull(point);
        var sb = new StringBuilder();
        foreach (var s in point.Steps)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  {s.Step.Number}. [{s.State}] {s.Step.Description}{(s.Reason.Length > 0 ? " — " + s.Reason : string.Empty)}\n");
        }

        return sb.ToString();
    }

    private static string FormatTimeout(TimeSpan t)
        => t.TotalMinutes >= 1 && t.Seconds == 0 ? $"{(int)t.TotalMinutes}m" : $"{t.TotalSeconds:0.#}s";

    private static void Lines(StringBuilder sb, string title, IReadOnlyList<string> lines)
    {
        if (lines.Count == 0)
        {
            return;
        }

        sb.Append(CultureInfo.InvariantCulture, $"\n{title}:\n");
        foreach (var line in lines)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  - {line}\n");
        }
    }

    private static void Table(StringBuilder sb, List<string[]> rows)
    {
        var widths = Enumerable.Range(0, rows[0].Length).Select(i => rows.Max(r => r[i].Length)).ToArray();
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                sb.Append(i == row.Length - 1 ? row[i] : row[i].PadRight(widths[i] + 2));
            }

            sb.Append('\n');
        }
    }

    internal static string MachineTypeText(TalosMachineType? type) => type is { } t ? BackupManifestJson.MachineTypeName(t) : "?";
}
