using System.Globalization;
using Talos.Recovery.Client;
using Talos.Recovery.Client.Etcd;

namespace Talos.Recovery.Recovery;

/// <summary>What the assessment concludes about the control plane.</summary>
public enum ClusterVerdict
{
    /// <summary>Every member is healthy, the member lists agree and every node runs its member: nothing to do.</summary>
    Healthy = 1,

    /// <summary>A quorum of members is healthy: restore the rest without a snapshot (<see cref="ClusterAssessment.QuorumRestoreActions"/>).</summary>
    QuorumRestorable,

    /// <summary>Quorum is lost: restore from a snapshot (back up, reset every node, bootstrap one from the snapshot).</summary>
    DisasterRecoveryRequired,

    /// <summary>Recovery cannot go ahead safely; <see cref="ClusterAssessment.Blockers"/> say why and what to do.</summary>
    Blocked,
}

/// <summary>Why an assessment is (or, for a healthy cluster, would be) blocked.</summary>
public enum BlockerReason
{
    /// <summary>A node is an <c>init</c> node (its bootstrap never restores a snapshot).</summary>
    InitNode = 1,

    /// <summary>A node could not be reached.</summary>
    UnreachableNode,

    /// <summary>A node runs a Talos version older than <see cref="ClusterAssessmentOptions.MinimumTalosVersion"/>.</summary>
    UnsupportedVersion,

    /// <summary>A node is a worker or has no machine configuration.</summary>
    NotControlPlane,

    /// <summary>The client's role could not read what the decision needs.</summary>
    MissingPermissions,

    /// <summary>No node was assessed.</summary>
    NoNodes,

    /// <summary>
    /// A node runs an etcd member that the cluster's member list lacks and knows no leader: a leader election under way, or a
    /// second cluster. Which side holds the cluster cannot be told yet, so no node may be wiped (assess again once it settles).
    /// </summary>
    UnsettledMembership,
}

/// <summary>One reason recovery cannot go ahead, with the way forward.</summary>
/// <param name="Reason">The reason.</param>
/// <param name="Nodes">The nodes concerned.</param>
/// <param name="Message">What is wrong.</param>
/// <param name="WayForward">What to do about it.</param>
public sealed record AssessmentBlocker(BlockerReason Reason, IReadOnlyList<string> Nodes, string Message, string WayForward);

/// <summary>How the member lists the nodes reported differ for one member.</summary>
/// <param name="MemberId">The member.</param>
/// <param name="MemberName">The member's name (its node's hostname).</param>
/// <param name="ListedBy">The nodes whose list has the member.</param>
/// <param name="NotListedBy">The nodes whose list lacks it.</param>
public sealed record MemberListDifference(ulong MemberId, string MemberName, IReadOnlyList<string> ListedBy, IReadOnlyList<string> NotListedBy);

/// <summary>One member of the (majority's) member list, with the node that runs it.</summary>
/// <param name="Member">The member.</param>
/// <param name="Node">The assessed node that runs it, or <see langword="null"/> when none does.</param>
/// <param name="Healthy">Whether its node runs it healthily.</param>
public sealed record MemberHealth(EtcdMember Member, string? Node, bool Healthy);

/// <summary>The kind of a <see cref="QuorumRestoreAction"/>.</summary>
public enum QuorumRestoreActionKind
{
    /// <summary>Remove the member (<c>EtcdRemoveMemberByID</c>, through a healthy node).</summary>
    RemoveMember = 1,

    /// <summary>Wipe the node's <c>EPHEMERAL</c> (and <c>ETCD</c> where etcd has a volume of its own; not graceful, reboot) so it joins again with an empty data directory.</summary>
    ResetNode,

    /// <summary>Nothing to call: the node is in its join loop and will join by itself.</summary>
    WaitForJoin,
}

/// <summary>A concrete step that restores a cluster which still has quorum.</summary>
/// <param name="Kind">What to do.</param>
/// <param name="Node">The node to act on (for a removal: the node whose member it is, if any).</param>
/// <param name="MemberId">For a removal, the member id.</param>
/// <param name="Description">The step in words, with the talosctl equivalent.</param>
public sealed record QuorumRestoreAction(QuorumRestoreActionKind Kind, string? Node, ulong? MemberId, string Description);

/// <summary>Options for <see cref="ClusterAssessment.Evaluate"/>.</summary>
public sealed class ClusterAssessmentOptions
{
    /// <summary>The oldest Talos version recovery is supported on. Default 1.9.0 (the oldest line this SDK's API facts were checked against).</summary>
    public Version MinimumTalosVersion { get; init; } = new(1, 9, 0);
}

/// <summary>
/// The control plane as observed, and what follows from it: whether the member lists agree, how many members are
/// healthy, the quorum size, and the verdict (<see cref="ClusterVerdict"/>). Pure: built from observations by
/// <see cref="Evaluate"/>, so every rule is testable without a cluster.
/// </summary>
public sealed class ClusterAssessment
{
    private ClusterAssessment(IReadOnlyList<NodeObservation> nodes, DateTimeOffset assessedAt)
    {
        Nodes = nodes;
        AssessedAt = assessedAt;
    }

    /// <summary>When the assessment was made.</summary>
    public DateTimeOffset AssessedAt { get; }

    /// <summary>Each control-plane node as observed, in the order given.</summary>
    public IReadOnlyList<NodeObservation> Nodes { get; }

    /// <summary>The member list the healthy majority reports (or, without a healthy node, the most common one); empty when no node could list members.</summary>
    public IReadOnlyList<MemberHealth> Members { get; private set; } = [];

    /// <summary>Whether every node that listed members listed the same ones.</summary>
    public bool MemberListsAgree { get; private set; } = true;

    /// <summary>For each member not listed by every node that answered: who lists it and who does not.</summary>
    public IReadOnlyList<MemberListDifference> MemberListDifferences { get; private set; } = [];

    /// <summary>Voting members (learners excluded) in <see cref="Members"/>.</summary>
    public int VotingMemberCount { get; private set; }

    /// <summary>The quorum: ⌊voting members / 2⌋ + 1 (with no member list known: of the number of nodes).</summary>
    public int QuorumSize { get; private set; }

    /// <summary>Voting members run healthily by their node.</summary>
    public int HealthyMemberCount { get; private set; }

    /// <summary>Whether <see cref="HealthyMemberCount"/> reaches <see cref="QuorumSize"/>.</summary>
    public bool HasQuorum { get; private set; }

    /// <summary>The verdict.</summary>
    public ClusterVerdict Verdict { get; private set; }

    /// <summary>What blocks (or, for a healthy cluster, would block) recovery.</summary>
    public IReadOnlyList<AssessmentBlocker> Blockers { get; private set; } = [];

    /// <summary>For <see cref="ClusterVerdict.QuorumRestorable"/>, the steps that restore the cluster without a snapshot, in order.</summary>
    public IReadOnlyList<QuorumRestoreAction> QuorumRestoreActions { get; private set; } = [];

    /// <summary>Findings worth a look that do not change the verdict.</summary>
    public IReadOnlyList<string> Notes { get; private set; } = [];

    /// <summary>The roles that would have answered the queries the client's role was denied.</summary>
    public IReadOnlyList<string> MissingRoles => Nodes.SelectMany(n => n.MissingRoles).Distinct().ToList();

    /// <summary>The observation of <paramref name="node"/>, or <see langword="null"/> when it was not assessed.</summary>
    public NodeObservation? Find(string node) => Nodes.FirstOrDefault(n => n.Node == node);

    /// <summary>Derives the assessment from observations of every control-plane node.</summary>
    /// <param name="nodes">One observation per control-plane node.</param>
    /// <param name="options">Options; <see langword="null"/> for the defaults.</param>
    /// <param name="assessedAt">The time to record; <see langword="null"/> for the newest observation's time.</param>
    public static ClusterAssessment Evaluate(IReadOnlyList<NodeObservation> nodes, ClusterAssessmentOptions? options = null, DateTimeOffset? assessedAt = null)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        if (nodes.Select(n => n.Node).Distinct(StringComparer.Ordinal).Count() != nodes.Count)
        {
            throw new ArgumentException("Each node may be observed only once.", nameof(nodes));
        }

        options ??= new ClusterAssessmentOptions();
        var at = assessedAt ?? (nodes.Count == 0 ? DateTimeOffset.UtcNow : nodes.Max(n => n.ObservedAt));
        var assessment = new ClusterAssessment(nodes, at);
        assessment.Derive(options);
        return assessment;
    }

    private void Derive(ClusterAssessmentOptions options)
    {
        var notes = new List<string>();
        var listers = Nodes.Where(n => n.Members is not null).ToList();

        // The member lists: do they agree, and how do they differ.
        var union = new Dictionary<ulong, EtcdMember>();
        foreach (var member in listers.SelectMany(n => n.Members!.Members))
        {
            union.TryAdd(member.Id, member);
        }

        var differences = new List<MemberListDifference>();
        foreach (var member in union.Values.OrderBy(m => m.Name, StringComparer.Ordinal).ThenBy(m => m.Id))
        {
            var listedBy = listers.Where(n => n.Members!.Members.Any(m => m.Id == member.Id)).Select(n => n.Node).ToList();
            if (listedBy.Count != listers.Count)
            {
                differences.Add(new MemberListDifference(member.Id, member.Name, listedBy, listers.Select(n => n.Node).Except(listedBy).ToList()));
            }
        }

        MemberListDifferences = differences;
        MemberListsAgree = differences.Count == 0;

        // The authoritative list: the one most healthy nodes report; without a healthy lister, the most common one.
        var healthyListers = listers.Where(n => n.EtcdCondition == NodeEtcdCondition.Healthy).ToList();
        var candidates = healthyListers.Count > 0 ? healthyListers : listers;
        var authoritative = candidates
            .GroupBy(n => MemberKey(n.Members!.Members))
            .OrderByDescending(g => g.Count())
            .Select(g => g.First().Members!.Members)
            .FirstOrDefault() ?? [];

        var members = new List<MemberHealth>();
        foreach (var member in authoritative)
        {
            var node = Nodes.FirstOrDefault(n => n.IsMember(member)) ?? Nodes.FirstOrDefault(n => n.IsNamedBy(member));
            var healthy = node is not null && node.EtcdCondition == NodeEtcdCondition.Healthy
                          && (node.EtcdStatus is null || node.EtcdStatus.MemberId == member.Id)
                          && (node.Members is null || MemberKey(node.Members.Members) == MemberKey(authoritative));
            members.Add(new MemberHealth(member, node?.Node, healthy));
        }

        Members = members;
        VotingMemberCount = members.Count(m => !m.Member.IsLearner);
        QuorumSize = (VotingMemberCount > 0 ? VotingMemberCount : Nodes.Count) / 2 + 1;
        HealthyMemberCount = members.Count(m => m.Healthy && !m.Member.IsLearner);
        HasQuorum = VotingMemberCount > 0 && HealthyMemberCount >= QuorumSize;

        var blockers = FindBlockers(options);

        // A node that runs a member the chosen list lacks and knows no leader is either in a leader election (its cluster's list
        // could not be read, so a minority's list was chosen) or a second cluster: a quorum restore could wipe the wrong side.
        var authoritativeIds = authoritative.Select(m => m.Id).ToHashSet();
        var unsettled = Nodes.Where(n => n.EtcdCondition == NodeEtcdCondition.Unhealthy && n.EtcdStatus is { MemberId: not 0 } s && !authoritativeIds.Contains(s.MemberId)).ToList();
        if (HasQuorum && unsettled.Count > 0)
        {
            var listedBy = candidates.Where(n => MemberKey(n.Members!.Members) == MemberKey(authoritative)).Select(n => n.Node);
            blockers.Add(new AssessmentBlocker(BlockerReason.UnsettledMembership, unsettled.Select(n => n.Node).ToList(),
                $"{Join(unsettled.Select(n => $"{n.Node} (member {n.EtcdStatus!.MemberId:x16})"))} {(unsettled.Count == 1 ? "runs an etcd member" : "run etcd members")} that the member list of {Join(listedBy)} does not have, and {(unsettled.Count == 1 ? "knows" : "know")} no leader: a leader election under way, or a second cluster. Which side holds the cluster cannot be told yet.",
                "Assess again in a few seconds; if it persists, compare 'talosctl -n <node> etcd members' and 'etcd status' on every node before wiping any."));
        }

        Blockers = blockers;

        if (!MemberListsAgree)
        {
            notes.Add($"The member lists differ: {string.Join("; ", differences.Select(d => $"{d.MemberName} ({d.MemberId:x16}) listed by {Join(d.ListedBy)}, not by {Join(d.NotListedBy)}"))}.");
        }

        var separate = Nodes.Where(n => n.EtcdOnSeparateVolume == true).Select(n => n.Node).ToList();
        if (separate.Count > 0)
        {
            notes.Add($"etcd keeps its data on an ETCD volume of its own on {Join(separate)}: a reset there wipes ETCD as well as EPHEMERAL.");
        }

        foreach (var node in Nodes.Where(n => n.EtcdCondition == NodeEtcdCondition.Failed))
        {
            notes.Add($"etcd on {node.Node} is Failed: {node.LastEtcdEventMessage ?? "(no event message)"}.");
        }

        if (Nodes.Count == 0)
        {
            Verdict = ClusterVerdict.Blocked;
        }
        else if (HasQuorum)
        {
            var everyNodeRunsAMember = Nodes.All(n => members.Any(m => m.Node == n.Node && m.Healthy));
            if (members.All(m => m.Healthy) && everyNodeRunsAMember && MemberListsAgree)
            {
                Verdict = ClusterVerdict.Healthy;
            }
            else
            {
                QuorumRestoreActions = PlanQuorumRestore(members, notes);
                Verdict = blockers.Any(b => b.Reason is not BlockerReason.UnreachableNode) ? ClusterVerdict.Blocked : ClusterVerdict.QuorumRestorable;
            }
        }
        else
        {
            Verdict = blockers.Count > 0 ? ClusterVerdict.Blocked : ClusterVerdict.DisasterRecoveryRequired;
            if (listers.Count == 0 && Nodes.Any(n => n.IsReachable))
            {
                notes.Add("No node could list the etcd members (the list needs a leader): quorum is lost or every member's data is gone.");
            }
        }

        Notes = notes;
    }

    private List<QuorumRestoreAction> PlanQuorumRestore(List<MemberHealth> members, List<string> notes)
    {
        var actions = new List<QuorumRestoreAction>();
        var via = members.FirstOrDefault(m => m.Healthy)?.Node;
        foreach (var member in members.Where(m => !m.Healthy))
        {
            var node = member.Node is null ? null : Find(member.Node);
            actions.Add(new QuorumRestoreAction(
                QuorumRestoreActionKind.RemoveMember,
                member.Node,
                member.Member.Id,
                $"remove member {member.Member.Name} ({member.Member.Id:x16}) through {via} (talosctl -n {via} etcd remove-member {member.Member.Id:x16})"));
            if (node is null)
            {
                notes.Add($"Member {member.Member.Name} ({member.Member.Id:x16}) runs on no assessed node; it is only removed.");
            }
            else if (!node.IsReachable)
            {
                notes.Add($"{node.Node} is unreachable: wipe its EPHEMERAL (and ETCD, if etcd has a volume of its own) before it starts again, or it will try to rejoin with stale data.");
            }
            else
            {
                actions.Add(ResetAction(node.Node));
            }
        }

        foreach (var node in Nodes.Where(n => n.IsReachable && !members.Any(m => m.Node == n.Node)))
        {
            if (node.EtcdCondition is NodeEtcdCondition.Preparing or NodeEtcdCondition.Waiting)
            {
                actions.Add(new QuorumRestoreAction(QuorumRestoreActionKind.WaitForJoin, node.Node, null, $"{node.Node} is in its join loop and joins by itself"));
            }
            else
            {
                actions.Add(ResetAction(node.Node));
            }
        }

        return actions;
    }

    private QuorumRestoreAction ResetAction(string node)
    {
        var labels = RecoveryPlanner.LabelsFor(Find(node));
        return new(QuorumRestoreActionKind.ResetNode, node, null,
            $"wipe {string.Join(" and ", labels)} on {node} so it joins again (talosctl -n {node} reset --graceful=false --reboot {string.Join(" ", labels.Select(l => "--system-labels-to-wipe=" + l))})");
    }

    private List<AssessmentBlocker> FindBlockers(ClusterAssessmentOptions options)
    {
        var blockers = new List<AssessmentBlocker>();
        if (Nodes.Count == 0)
        {
            blockers.Add(new AssessmentBlocker(BlockerReason.NoNodes, [], "No control-plane node was assessed.", "Name every control-plane node (talosconfig context nodes or the nodes argument)."));
            return blockers;
        }

        var init = Nodes.Where(n => n.MachineType == TalosMachineType.Init).Select(n => n.Node).ToList();
        if (init.Count > 0)
        {
            blockers.Add(new AssessmentBlocker(BlockerReason.InitNode, init,
                $"{Join(init)} {(init.Count == 1 ? "is an init node" : "are init nodes")}: Talos never restores a snapshot on an init node's bootstrap path.",
                "Convert each init node to type controlplane (machine.type in its machine configuration, applied with talosctl apply-config) and assess again."));
        }

        var notControlPlane = Nodes.Where(n => n.MachineType is TalosMachineType.Worker or TalosMachineType.Unknown || n.HasNoEtcdService).Select(n => n.Node).ToList();
        if (notControlPlane.Count > 0)
        {
            blockers.Add(new AssessmentBlocker(BlockerReason.NotControlPlane, notControlPlane,
                $"{Join(notControlPlane)}: not a configured control plane (worker, or no machine configuration).",
                "Leave workers out of the node list; apply the backed-up machine configuration (machineconfig/<node>.yaml) to a node in maintenance mode first."));
        }

        var unreachable = Nodes.Where(n => !n.IsReachable).Select(n => n.Node).ToList();
        if (unreachable.Count > 0)
        {
            blockers.Add(new AssessmentBlocker(BlockerReason.UnreachableNode, unreachable,
                $"{Join(unreachable)} could not be reached: {string.Join("; ", Nodes.Where(n => !n.IsReachable).Select(n => $"{n.Node}: {n.Failures.FirstOrDefault()?.Message}"))}.",
                "Bring the node back (or check the endpoint and certificates) and assess again; a node gone for good is left out of the node list and must be wiped before it ever starts again."));
        }

        var old = Nodes.Where(n => n.Version is { } v && ParseTag(v.Tag) is { } parsed && parsed < options.MinimumTalosVersion).Select(n => n.Node).ToList();
        if (old.Count > 0)
        {
            blockers.Add(new AssessmentBlocker(BlockerReason.UnsupportedVersion, old,
                $"{Join(old)} {(old.Count == 1 ? "runs" : "run")} Talos older than v{options.MinimumTalosVersion}.",
                $"Follow the Talos documentation of that version by hand, or upgrade to v{options.MinimumTalosVersion} or later."));
        }

        // Without the machine type and the etcd service, an init node or a pending state cannot be ruled out.
        var denied = Nodes.Where(n => n.IsReachable && n.Failures.Any(f => f.Kind == ObservationFailureKind.PermissionDenied && f.Call is TalosApiCall.MachineType or TalosApiCall.ServiceList)).ToList();
        if (denied.Count > 0)
        {
            var roles = denied.SelectMany(n => n.MissingRoles).Distinct().ToList();
            blockers.Add(new AssessmentBlocker(BlockerReason.MissingPermissions, denied.Select(n => n.Node).ToList(),
                $"The client's role may not read the machine type or the etcd service on {Join(denied.Select(n => n.Node))}.",
                $"Use a talosconfig with role {Join(roles)} (or os:admin, which recovery needs anyway)."));
        }

        return blockers;
    }

    /// <summary>Parses a Talos version tag such as <c>v1.11.3</c> or <c>v1.12.0-beta.1</c>; <see langword="null"/> when it is not one.</summary>
    public static Version? ParseTag(string? tag)
    {
        if (string.IsNullOrEmpty(tag))
        {
            return null;
        }

        var text = tag.TrimStart('v', 'V');
        var end = text.IndexOfAny(['-', '+']);
        if (end >= 0)
        {
            text = text[..end];
        }

        var parts = text.Split('.');
        if (parts.Length is < 2 or > 3 || parts.Any(p => !int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            return null;
        }

        return new Version(int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture), parts.Length == 3 ? int.Parse(parts[2], CultureInfo.InvariantCulture) : 0);
    }

    private static string MemberKey(IEnumerable<EtcdMember> members) => string.Join(",", members.Select(m => m.Id).Order());

    private static string Join(IEnumerable<string> values) => string.Join(", ", values);
}
