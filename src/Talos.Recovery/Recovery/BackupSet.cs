using System.Security.Cryptography;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Recovery;

/// <summary>
/// A backup set on disk whose snapshot this SDK has just verified: a directory holding the snapshot
/// (<c>etcd.snapshot</c>, or <c>etcd.raw.db</c> for a raw copy), the machine configuration of each control-plane node
/// (<c>machineconfig/&lt;node&gt;.yaml</c>) and <c>manifest.json</c>. The only way to get one is <see cref="Open"/>, which
/// re-verifies everything, so holding a <see cref="BackupSet"/> is the proof the recovery interlock asks for.
/// </summary>
public sealed class BackupSet
{
    private BackupSet(string directory, BackupManifest manifest, SnapshotVerification verification, DateTimeOffset verifiedAt)
    {
        Directory = directory;
        Manifest = manifest;
        Verification = verification;
        VerifiedAt = verifiedAt;
    }

    /// <summary>The backup set's directory (full path).</summary>
    public string Directory { get; }

    /// <summary>The manifest.</summary>
    public BackupManifest Manifest { get; }

    /// <summary>The full path of the snapshot file.</summary>
    public string SnapshotPath => Path.Combine(Directory, Manifest.Snapshot.FileName);

    /// <summary>The verification of the snapshot this SDK made when the set was opened.</summary>
    public SnapshotVerification Verification { get; }

    /// <summary>When the snapshot was verified.</summary>
    public DateTimeOffset VerifiedAt { get; }

    /// <summary>Whether the snapshot ends in a (verified) SHA-256 trailer; without one the restore must skip the node's hash check.</summary>
    public bool HasTrailer => Manifest.Snapshot.HasTrailer;

    /// <summary>The snapshot's etcd status.</summary>
    public SnapshotStatus Status => Manifest.Snapshot.Status;

    /// <summary>The full path of <paramref name="node"/>'s machine configuration, or <see langword="null"/> when the set has none for it.</summary>
    public string? MachineConfigPath(string node)
        => Manifest.Nodes.FirstOrDefault(n => n.Node == node)?.MachineConfigFile is { } file ? Path.Combine(Directory, file) : null;

    /// <summary>
    /// Opens a backup set and verifies it: the manifest parses; the snapshot has the recorded name, length and SHA-256;
    /// its bbolt structure passes every check; its trailer matches (when the manifest says it has one); its etcd status
    /// equals the recorded one; every machine configuration has its recorded SHA-256. Anything else throws
    /// <see cref="BackupSetException"/>.
    /// </summary>
    public static BackupSet Open(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var full = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(full))
        {
            throw new BackupSetException($"Backup set '{full}' does not exist.", full);
        }

        var manifestPath = Path.Combine(full, BackupManifest.FileName);
        BackupManifest manifest;
        try
        {
            manifest = BackupManifestJson.Read(File.ReadAllBytes(manifestPath));
        }
        catch (FileNotFoundException e)
        {
            throw new BackupSetException($"Backup set '{full}' has no {BackupManifest.FileName}: it is not a backup set, or the backup did not finish.", full, e);
        }
        catch (FormatException e)
        {
            throw new BackupSetException($"Backup set '{full}': {BackupManifest.FileName}: {e.Message}.", full, e);
        }

        var s = manifest.Snapshot;
        var expectedName = s.Method == BackupSnapshotMethod.EtcdSnapshot ? BackupManifest.SnapshotFileName : BackupManifest.RawCopyFileName;
        if (s.FileName != expectedName)
        {
            throw new BackupSetException($"Backup set '{full}': the snapshot of a {s.Method} backup must be '{expectedName}', the manifest names '{s.FileName}'.", full);
        }

        var snapshotPath = Path.Combine(full, s.FileName);
        SnapshotVerification verification;
        try
        {
            using var file = SnapshotFile.Open(snapshotPath);
            if (file.Length != s.Length)
            {
                throw new BackupSetException($"Backup set '{full}': {s.FileName} is {file.Length} bytes, the manifest says {s.Length}.", full);
            }

            if (file.HasTrailer != s.HasTrailer)
            {
                throw new BackupSetException($"Backup set '{full}': {s.FileName} {(file.HasTrailer ? "has" : "has no")} SHA-256 trailer, the manifest says otherwise.", full);
            }

            verification = file.Verify(new SnapshotVerifyOptions { SkipHashCheck = !s.HasTrailer }, cancellationToken);
        }
        catch (SnapshotFormatException e)
        {
            throw new BackupSetException($"Backup set '{full}': {s.FileName} is not a readable etcd snapshot: {e.Message}", full, e);
        }

        if (!verification.IsValid || verification.Status is null)
        {
            var first = verification.Problems.FirstOrDefault(p => p.Severity == Bolt.BoltProblemSeverity.Error)?.Message ?? "no status";
            throw new BackupSetException($"Backup set '{full}': {s.FileName} failed verification ({verification.ErrorCount} errors; first: {first}). Take a new backup.", full);
        }

        if (s.HasTrailer && verification.Trailer != SnapshotTrailerState.Verified)
        {
            throw new BackupSetException($"Backup set '{full}': {s.FileName}'s SHA-256 trailer does not match its content. Take a new backup.", full);
        }

        var actual = verification.ActualSha256 is { } sha ? Convert.ToHexStringLower(sha.Span) : null;
        if (!string.Equals(actual, s.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new BackupSetException($"Backup set '{full}': {s.FileName} has SHA-256 {actual}, the manifest records {s.Sha256}: the file was changed or replaced.", full);
        }

        var st = verification.Status;
        if (st.Hash != s.Status.Hash || st.Revision != s.Status.Revision || st.TotalKey != s.Status.TotalKey || st.TotalSize != s.Status.TotalSize
            || (s.Status.LiveKeyCount is { } live && st.LiveKeyCount is { } actualLive && live != actualLive))
        {
            throw new BackupSetException($"Backup set '{full}': {s.FileName}'s etcd status ({st}) differs from the manifest's ({s.Status}).", full);
        }

        foreach (var node in manifest.Nodes.Where(n => n.MachineConfigFile is not null))
        {
            var path = Path.GetFullPath(Path.Combine(full, node.MachineConfigFile!));
            if (!path.StartsWith(full + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new BackupSetException($"Backup set '{full}': machine configuration path '{node.MachineConfigFile}' leaves the backup set.", full);
            }

            if (!File.Exists(path))
            {
                throw new BackupSetException($"Backup set '{full}': {node.MachineConfigFile} (machine configuration of {node.Node}) is missing.", full);
            }

            var digest = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
            if (!string.Equals(digest, node.MachineConfigSha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new BackupSetException($"Backup set '{full}': {node.MachineConfigFile} has SHA-256 {digest}, the manifest records {node.MachineConfigSha256}.", full);
            }
        }

        return new BackupSet(full, manifest, verification, DateTimeOffset.UtcNow);
    }
}
