using Talos.Recovery.Bolt;

namespace Talos.Recovery.Snapshots;

/// <summary>Why a snapshot transfer (<see cref="SnapshotWriter"/>) failed.</summary>
public enum SnapshotTransferFailure
{
    /// <summary>
    /// The caller cancelled the transfer. Surfaced as an <see cref="OperationCanceledException"/> whose
    /// <see cref="Exception.InnerException"/> is a <see cref="SnapshotTransferException"/> with this reason.
    /// </summary>
    Cancelled = 1,

    /// <summary>The source of the bytes failed (the network stream threw); the source's exception is the inner exception.</summary>
    SourceFailed = 2,

    /// <summary>No byte arrived for longer than <see cref="SnapshotWriterOptions.InactivityTimeout"/>.</summary>
    Stalled = 3,

    /// <summary>The stream ended before the snapshot was complete (fewer bytes than its meta pages or the expected length say).</summary>
    Truncated = 4,

    /// <summary>The stream ended without etcd's SHA-256 trailer and the hash check was not skipped.</summary>
    MissingTrailer = 5,

    /// <summary>The SHA-256 trailer does not match the SHA-256 of the bytes before it.</summary>
    TrailerMismatch = 6,

    /// <summary>The bytes are not a valid etcd snapshot: not a bbolt database, damaged meta pages, or a failed structural check.</summary>
    InvalidSnapshot = 7,

    /// <summary>The destination's file system is full (ENOSPC) or the user's quota is exhausted.</summary>
    DiskFull = 8,

    /// <summary>The destination exists and <see cref="SnapshotWriterOptions.Overwrite"/> is <see langword="false"/> (or it is a directory).</summary>
    DestinationExists = 9,

    /// <summary>Another transfer to the same destination is in progress (its <c>.part</c> file is locked).</summary>
    DestinationBusy = 10,

    /// <summary>Another I/O error on the destination (permissions, missing directory, device error); see the inner exception.</summary>
    IOError = 11,
}

/// <summary>
/// A snapshot transfer failed. Whatever the <see cref="Reason"/>, the <c>.part</c> file has been removed (or, for
/// invalid content with <see cref="SnapshotWriterOptions.KeepInvalid"/>, moved to <see cref="InvalidSnapshotPath"/>)
/// and the destination file is untouched.
/// </summary>
/// <remarks>
/// Cancellation by the caller is not thrown as this type: it surfaces, as .NET code expects, as an
/// <see cref="OperationCanceledException"/> carrying the caller's token, with a <see cref="SnapshotTransferException"/>
/// of reason <see cref="SnapshotTransferFailure.Cancelled"/> as its inner exception (the pattern Npgsql uses).
/// </remarks>
public class SnapshotTransferException : TalosRecoveryException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong, in words.</param>
    /// <param name="reason">Why the transfer failed.</param>
    /// <param name="bytesReceived">How many bytes the source had delivered when the transfer failed.</param>
    /// <param name="innerException">The underlying exception (source, I/O), when there is one.</param>
    public SnapshotTransferException(string message, SnapshotTransferFailure reason, long bytesReceived, Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytesReceived);
        Reason = reason;
        BytesReceived = bytesReceived;
    }

    /// <summary>Why the transfer failed.</summary>
    public SnapshotTransferFailure Reason { get; }

    /// <summary>How many bytes the source had delivered when the transfer failed.</summary>
    public long BytesReceived { get; }

    /// <summary>The destination the snapshot was meant for, when known.</summary>
    public string? DestinationPath { get; init; }

    /// <summary>
    /// The full verification of the received file, when the failure is <see cref="SnapshotTransferFailure.InvalidSnapshot"/>
    /// found by the structural check after the stream ended. Its <see cref="SnapshotVerification.Path"/> names the
    /// <c>.part</c> file, which no longer exists.
    /// </summary>
    public SnapshotVerification? Verification { get; init; }

    /// <summary>
    /// The problems found in the content (errors first), for the content failures (<see cref="IsContentFailure"/>);
    /// empty otherwise.
    /// </summary>
    public IReadOnlyList<BoltProblem> Problems { get; init; } = [];

    /// <summary>
    /// Where the invalid content was kept for forensics (<see cref="SnapshotWriterOptions.KeepInvalid"/>), or
    /// <see langword="null"/> when it was deleted or the failure was not about the content.
    /// </summary>
    public string? InvalidSnapshotPath { get; internal set; }

    /// <summary>
    /// True when the bytes themselves were at fault (<see cref="SnapshotTransferFailure.Truncated"/>,
    /// <see cref="SnapshotTransferFailure.MissingTrailer"/>, <see cref="SnapshotTransferFailure.TrailerMismatch"/>,
    /// <see cref="SnapshotTransferFailure.InvalidSnapshot"/>), not the source, the disk or the caller.
    /// </summary>
    public bool IsContentFailure => Reason is SnapshotTransferFailure.Truncated or SnapshotTransferFailure.MissingTrailer
        or SnapshotTransferFailure.TrailerMismatch or SnapshotTransferFailure.InvalidSnapshot;
}
