using System.Security.Cryptography;
using System.Text;

namespace Talos.Recovery.Recovery;

/// <summary>
/// Builds a backup set in a hidden temporary directory beside the destination (mode 0700, files 0600) and moves it into
/// place with one rename once the manifest is written, so a backup set either exists complete or not at all.
/// Disposing an uncommitted writer deletes the temporary directory.
/// </summary>
internal sealed class BackupSetWriter : IDisposable
{
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode PrivateFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly List<BackupNode> _nodes = [];
    private bool _committed;

    private BackupSetWriter(string destination, string temporary)
    {
        Destination = destination;
        TemporaryDirectory = temporary;
    }

    /// <summary>Where the set will be.</summary>
    public string Destination { get; }

    /// <summary>Where the set is being built.</summary>
    public string TemporaryDirectory { get; }

    /// <summary>Starts a backup set at <paramref name="destination"/>, which must not exist (or be an empty directory).</summary>
    public static BackupSetWriter Create(string destination)
    {
        ArgumentException.ThrowIfNullOrEmpty(destination);
        var full = Path.GetFullPath(destination.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        if (File.Exists(full) || (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any()))
        {
            throw new IOException($"'{full}' already exists; a backup set is written to a new (or empty) directory only.");
        }

        var parent = Path.GetDirectoryName(full) ?? throw new ArgumentException("The destination has no parent directory.", nameof(destination));
        CreateDirectory(parent);
        var temporary = Path.Combine(parent, $".{Path.GetFileName(full)}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.tmp");
        CreateDirectory(temporary);
        CreateDirectory(Path.Combine(temporary, BackupManifest.MachineConfigDirectory));
        return new BackupSetWriter(full, temporary);
    }

    /// <summary>Where the snapshot taken with <paramref name="method"/> goes while the set is built.</summary>
    public string SnapshotPath(BackupSnapshotMethod method)
        => Path.Combine(TemporaryDirectory, method == BackupSnapshotMethod.EtcdSnapshot ? BackupManifest.SnapshotFileName : BackupManifest.RawCopyFileName);

    /// <summary>Records a node; its machine configuration (when given) is written to <c>machineconfig/&lt;node&gt;.yaml</c> (0600).</summary>
    public BackupNode AddNode(string node, string? hostname, Client.TalosMachineType? machineType, string? talosVersion, string? machineConfigYaml)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        string? file = null;
        string? sha = null;
        if (machineConfigYaml is not null)
        {
            file = $"{BackupManifest.MachineConfigDirectory}/{SafeFileName(node)}.yaml";
            if (_nodes.Any(n => n.MachineConfigFile == file))
            {
                throw new ArgumentException($"Two nodes map to the same file name '{file}'.", nameof(node));
            }

            var bytes = Encoding.UTF8.GetBytes(machineConfigYaml);
            WriteFile(Path.Combine(TemporaryDirectory, file), bytes);
            sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        }

        var entry = new BackupNode(node, hostname, machineType, talosVersion, file, sha);
        _nodes.Add(entry);
        return entry;
    }

    /// <summary>Writes the manifest, makes everything durable, renames the set into place and opens (re-verifies) it.</summary>
    public BackupSet Commit(DateTimeOffset createdAt, string? context, string? cluster, BackupSnapshot snapshot, IReadOnlyList<string> notes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ObjectDisposedException.ThrowIf(_committed, this);
        var snapshotFile = Path.Combine(TemporaryDirectory, snapshot.FileName);
        if (!File.Exists(snapshotFile))
        {
            throw new InvalidOperationException($"The snapshot '{snapshotFile}' was not written.");
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(snapshotFile, PrivateFileMode);
        }

        var manifest = new BackupManifest(BackupManifest.CurrentFormatVersion, createdAt, context, cluster, snapshot, _nodes.ToList(), notes);
        WriteFile(Path.Combine(TemporaryDirectory, BackupManifest.FileName), BackupManifestJson.Write(manifest));
        if (Directory.Exists(Destination))
        {
            Directory.Delete(Destination); // empty (checked in Create)
        }

        Directory.Move(TemporaryDirectory, Destination);
        _committed = true;
        return BackupSet.Open(Destination, cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_committed && Directory.Exists(TemporaryDirectory))
        {
            try
            {
                Directory.Delete(TemporaryDirectory, recursive: true);
            }
            catch (IOException)
            {
                // best effort: a hidden .tmp directory is left behind
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        _committed = true;
    }

    /// <summary>A node address as a file name: letters, digits, '.', '-' and '_' kept, anything else '_'.</summary>
    internal static string SafeFileName(string node)
    {
        var chars = node.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_').ToArray();
        var name = new string(chars).Trim('.');
        return name.Length == 0 ? "node" : name;
    }

    private static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else if (!Directory.Exists(path))
        {
            Directory.CreateDirectory(path, DirectoryMode);
        }
    }

    private static void WriteFile(string path, byte[] bytes)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PrivateFileMode;
        }

        using var stream = new FileStream(path, options);
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
    }
}
