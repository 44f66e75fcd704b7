using System.Globalization;

namespace Talos.Recovery.Bolt;

/// <summary>How serious a <see cref="BoltProblem"/> is.</summary>
public enum BoltProblemSeverity
{
    /// <summary>The file is damaged: a snapshot with this problem must not be trusted or restored.</summary>
    Error = 0,

    /// <summary>Unusual but readable; bbolt and etcd accept it. Reported for forensics only.</summary>
    Warning = 1,
}

/// <summary>
/// One problem found in a bbolt file: a stable <see cref="Code"/>, where it is (<see cref="PageId"/> and the
/// absolute byte <see cref="Offset"/> in the file, when known) and a human-readable <see cref="Message"/>.
/// For the problems bbolt's own <c>tx.Check</c> reports, <see cref="Message"/> uses bbolt's wording
/// (for example <c>page 4: already freed</c>).
/// </summary>
public sealed class BoltProblem
{
    /// <summary>Creates a problem record.</summary>
    public BoltProblem(BoltProblemCode code, BoltProblemSeverity severity, long? pageId, long? offset, string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Code = code;
        Severity = severity;
        PageId = pageId;
        Offset = offset;
        Message = message;
    }

    /// <summary>The stable identifier of the kind of problem.</summary>
    public BoltProblemCode Code { get; }

    /// <summary>Whether the problem makes the file invalid.</summary>
    public BoltProblemSeverity Severity { get; }

    /// <summary>The page the problem was found on, when it concerns a page.</summary>
    public long? PageId { get; }

    /// <summary>The absolute byte offset in the file the problem concerns, when known.</summary>
    public long? Offset { get; }

    /// <summary>What is wrong, in words.</summary>
    public string Message { get; }

    /// <summary>
    /// One line for a terminal or a log: <c>error PageOutOfBounds page 7 offset 0x7000: …</c>.
    /// </summary>
    public override string ToString()
    {
        var severity = Severity == BoltProblemSeverity.Error ? "error" : "warning";
        var page = PageId is { } p ? string.Create(CultureInfo.InvariantCulture, $" page {p}") : string.Empty;
        var offset = Offset is { } o ? string.Create(CultureInfo.InvariantCulture, $" offset 0x{o:x}") : string.Empty;
        return $"{severity} {Code}{page}{offset}: {Message}";
    }
}
