using System.Buffers;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using Talos.Recovery.Bolt;

namespace Talos.Recovery.Snapshots;

/// <summary>
/// Read-only bytes of a snapshot at a stable address: a memory-mapped file or pinned managed memory.
/// The Bolt layer reads it through spans created from <see cref="Pointer"/>.
/// </summary>
internal sealed unsafe partial class SnapshotBuffer : IDisposable
{
    /// <summary>HRESULT of ERROR_SHARING_VIOLATION, which .NET on Unix reports when an advisory lock is held.</summary>
    private const int SharingViolation = unchecked((int)0x80070020);

    /// <summary>EWOULDBLOCK on Linux: what .NET reports when flock(LOCK_SH | LOCK_NB) meets etcd's exclusive lock.</summary>
    private const int LinuxWouldBlock = 11;

    /// <summary>madvise advice on Linux: drop the mapping's page-table entries (file-backed pages stay in the page cache).</summary>
    private const int MadviseDontNeed = 4;

    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly FileStream? _stream;
    private MemoryHandle _pin;
    private bool _acquired;
    private bool _disposed;

    private SnapshotBuffer(byte* pointer, long length, FileStream? stream, MemoryMappedFile? map, MemoryMappedViewAccessor? view, MemoryHandle pin, bool acquired)
    {
        Pointer = pointer;
        Length = length;
        _stream = stream;
        _map = map;
        _view = view;
        _pin = pin;
        _acquired = acquired;
    }

    public byte* Pointer { get; }

    public long Length { get; }

    public BoltMemory Memory => new(Pointer, Length);

    /// <summary>
    /// True when <see cref="ReleaseResident"/> can drop mapped pages (a file mapping on Linux): the structural check
    /// of a large file then keeps its resident set bounded instead of holding every page it touched.
    /// </summary>
    public bool CanReleaseResident => _view is not null && OperatingSystem.IsLinux();

    /// <summary>
    /// Drops every page of the read-only file mapping from this process's resident set (madvise MADV_DONTNEED).
    /// The bytes stay readable at the same address: the next read faults them in again from the page cache, and
    /// the file is never written, so nothing read before or after differs. A no-op where unsupported.
    /// </summary>
    public void ReleaseResident()
    {
        if (!CanReleaseResident || _disposed)
        {
            return;
        }

        var offset = _view!.PointerOffset;
        var start = (nint)(Pointer - offset);
        _ = Madvise(start, (nuint)(Length + offset), MadviseDontNeed);
    }

    public static SnapshotBuffer Pin(ReadOnlyMemory<byte> content)
    {
        var pin = content.Pin();
        return new SnapshotBuffer((byte*)pin.Pointer, content.Length, null, null, null, pin, acquired: false);
    }

    public static SnapshotBuffer Map(string path)
    {
        if (Directory.Exists(path))
        {
            throw new SnapshotFormatException($"open {path}: is a directory, not a snapshot file", path);
        }

        // A length of 0 is an empty file, or not a regular file at all (a FIFO would block the open forever).
        var info = new FileInfo(path);
        if (info.Exists && info.Length == 0)
        {
            throw new SnapshotFormatException($"{path}: empty file (0 bytes) or not a regular file, not an etcd snapshot", path, BoltProblemCode.EmptyFile);
        }

        FileStream stream;
        try
        {
            // FileShare.Read takes a shared advisory lock on Unix: a running etcd's exclusive lock on its live
            // member/snap/db makes this fail at once instead of hanging like etcdctl does.
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.None);
        }
        catch (FileNotFoundException ex)
        {
            throw new SnapshotFormatException($"open {path}: no such file", path, innerException: ex);
        }
        catch (DirectoryNotFoundException ex)
        {
            throw new SnapshotFormatException($"open {path}: no such file or directory", path, innerException: ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new SnapshotFormatException($"open {path}: permission denied", path, innerException: ex);
        }
        catch (IOException ex) when (ex.HResult is SharingViolation or LinuxWouldBlock)
        {
            throw new SnapshotFormatException($"open {path}: the file is locked by another process (a running etcd holds an exclusive lock on its live member/snap/db); copy it first, or take a snapshot through the API", path, innerException: ex);
        }
        catch (IOException ex)
        {
            throw new SnapshotFormatException($"open {path}: {ex.Message}", path, innerException: ex);
        }

        try
        {
            var length = stream.Length;
            if (length == 0)
            {
                stream.Dispose();
                throw new SnapshotFormatException($"{path}: empty file, not an etcd snapshot", path, BoltProblemCode.EmptyFile);
            }

            var map = MemoryMappedFile.CreateFromFile(stream, mapName: null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
            var view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            pointer += view.PointerOffset;
            return new SnapshotBuffer(pointer, length, stream, map, view, default, acquired: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stream.Dispose();
            throw new SnapshotFormatException($"map {path}: {ex.Message}", path, innerException: ex);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_acquired)
        {
            _view!.SafeMemoryMappedViewHandle.ReleasePointer();
            _acquired = false;
        }

        _view?.Dispose();
        _map?.Dispose();
        _stream?.Dispose();
        _pin.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
