namespace Talos.Recovery.Snapshots;

public sealed partial class SnapshotFile
{
    private (SnapshotVerification Verification, SnapshotInspection? Inspection) Analyze(SnapshotVerifyOptions options, bool computeSha256, bool inspect, CancellationToken cancellationToken)
        => throw new NotImplementedException("work in progress");
}
