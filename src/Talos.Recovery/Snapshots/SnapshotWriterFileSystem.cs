using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Talos.Recovery.Snapshots;

/// <summary>The file-system operations the writer needs beyond what .NET offers, and how it classifies I/O errors.</summary>
internal static partial class SnapshotWriterFileSystem
{
    /// <summary>Owner read and write only.</summary>
    public const UnixFileMode PrivateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const int LinuxENOSPC = 28;
    private const int LinuxEDQUOT = 122;
    private const int MacEDQUOT = 69;
    private const int EEXIST = 17;
    private const int EWOULDBLOCK = 11;
    private const int WindowsDiskFull = unchecked((int)0x80070070);
    private const int WindowsHandleDiskFull = unchecked((int)0x80070027);
    private const int WindowsFileExists = unchecked((int)0x80070050);
    private const int WindowsAlreadyExists = unchecked((int)0x800700B7);
    private const int WindowsSharingViolation = unchecked((int)0x80070020);
    private const int WindowsLockViolation = unchecked((int)0x80070021);
    private const int GenericIOError = unchecked((int)0x80131620);
    private const int LinuxOCloexec = 0x80000;
    private const uint SyncFileRangeWrite = 2;

    public static bool IsDiskFull(Exception exception) => exception is IOException { HResult: LinuxENOSPC or LinuxEDQUOT or MacEDQUOT or WindowsDiskFull or WindowsHandleDiskFull };

    /// <summary>
    /// .NET reports a failed preallocation (ENOSPC or EFBIG from fallocate) as a plain IOException: with a
    /// preallocation requested, that is what such an exception means.
    /// </summary>
    public static bool IsPreallocationFailure(Exception exception) => exception is IOException { HResult: GenericIOError };

    public static bool IsAlreadyExists(Exception exception) => exception is IOException { HResult: EEXIST or WindowsFileExists or WindowsAlreadyExists };

    public static bool IsLocked(Exception exception) => exception is IOException { HResult: EWOULDBLOCK or WindowsSharingViolation or WindowsLockViolation };

    /// <summary>
    /// Creates <paramref name="path"/> exclusively (it must not exist), owner read/write only from the first byte:
    /// the mode is given to open(2), which umask can only narrow, then set exactly with fchmod. The file is opened
    /// with a shared lock, which another writer's exclusive probe detects.
    /// </summary>
    public static FileStream CreatePrivate(string path, long preallocationSize)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.Read,
            BufferSize = 0,
            Options = FileOptions.None,
            PreallocationSize = preallocationSize,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PrivateMode;
        }

        var stream = new FileStream(path, options);
        try
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(stream.SafeFileHandle, PrivateMode);
            }
        }
        catch
        {
            stream.Dispose();
            File.Delete(path);
            throw;
        }

        return stream;
    }

    /// <summary>True when another process (or transfer) holds a lock on <paramref name="path"/>.</summary>
    public static bool IsInUse(string path)
    {
        try
        {
            // FileShare.None takes an exclusive advisory lock, which a live writer's shared lock refuses. Read access:
            // nothing is created, truncated or written, even when the path is a planted symbolic link.
            using var probe = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None, bufferSize: 0);
            return false;
        }
        catch (IOException ex) when (IsLocked(ex))
        {
            return true;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
    }

    /// <summary>fsync(2) on a directory, so that a rename in it survives a crash. A no-op on Windows.</summary>
    public static void FlushDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var fd = Open(directory, OperatingSystem.IsLinux() ? LinuxOCloexec : 0);
        if (fd < 0)
        {
            throw new IOException($"open {directory}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}", Marshal.GetLastPInvokeError());
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException($"fsync {directory}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>
    /// Asks Linux to start writing <c>[offset, offset + length)</c> to the device now (sync_file_range with
    /// SYNC_FILE_RANGE_WRITE: initiate, do not wait), so that the device works while the stream is still arriving
    /// and the final fsync has little left to do. Best effort: returns false where unsupported, and the caller stops
    /// asking. Durability still comes from the fsync at the end.
    /// </summary>
    public static bool StartWriteback(SafeFileHandle handle, long offset, long length)
    {
        // 64-bit only: the 32-bit ABIs pass off64_t differently (and ARM has sync_file_range2).
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess)
        {
            return false;
        }

        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return SyncFileRange((int)handle.DangerousGetHandle(), offset, length, SyncFileRangeWrite) == 0;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>Writes all of <paramref name="buffers"/> at <paramref name="offset"/>.</summary>
    public static ValueTask WriteAsync(SafeFileHandle handle, IReadOnlyList<ReadOnlyMemory<byte>> buffers, long offset, CancellationToken cancellationToken)
        => RandomAccess.WriteAsync(handle, buffers, offset, cancellationToken);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static partial int SyncFileRange(int fd, long offset, long length, uint flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
