using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Talos.Recovery.Testing.Etcd;

/// <summary>
/// Reads files that another process holds an exclusive <c>flock</c> on, such as the <c>member/snap/db</c> of a
/// running etcd: the "disaster copy" of a data directory.
/// </summary>
/// <remarks>
/// <para>
/// bbolt (inside etcd) takes an exclusive <c>flock(LOCK_EX)</c> on its database file for as long as etcd runs.
/// On Linux, .NET emulates Windows sharing modes with advisory <c>flock</c>: every <see cref="FileStream"/>,
/// <see cref="File.OpenHandle"/>, <see cref="File.ReadAllBytes(string)"/> and <see cref="File.Copy(string, string)"/>
/// takes <c>LOCK_SH | LOCK_NB</c> on the file it opens, <b>whatever <see cref="FileShare"/> value is passed</b>
/// (<see cref="FileShare.None"/> takes <c>LOCK_EX</c>; <see cref="FileShare.Read"/>, <see cref="FileShare.ReadWrite"/>
/// and <c>ReadWrite | Delete</c> all take <c>LOCK_SH</c>). Against etcd's exclusive lock every one of them fails at once
/// with <see cref="IOException"/> "The process cannot access the file … because it is being used by another process"
/// (observed with .NET 10 and etcd 3.4.23). The only built-in way around it is the process-wide switch
/// <c>System.IO.DisableFileLocking</c> (<c>DOTNET_SYSTEM_IO_DISABLEFILELOCKING=1</c>), which a library must not flip
/// for its host.
/// </para>
/// <para>
/// This class opens the file with <c>open(2)</c> directly (<c>O_RDONLY | O_CLOEXEC</c>) and wraps the descriptor in
/// a <see cref="FileStream"/>; wrapping an existing handle takes no lock. Reading is then what <c>cp</c> does.
/// </para>
/// <para>
/// A copy of a live database is only consistent when etcd is not committing while it is read: bbolt writes new
/// pages and then a meta page, so a copy taken during a commit can pair a meta page with pages of another
/// transaction. Copy while no client writes (a <c>snapshot save</c> right before forces etcd to commit its pending
/// batch), or stop the member first.
/// </para>
/// </remarks>
public static class UnlockedFile
{
    /// <summary>
    /// Opens <paramref name="path"/> for reading without taking any file lock. Linux and other Unix systems only.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">On Windows (where sharing modes are enforced by the OS).</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The file cannot be read by this user.</exception>
    /// <exception cref="IOException">Any other error of <c>open(2)</c>.</exception>
    public static FileStream OpenRead(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("UnlockedFile is for Unix systems, where .NET emulates sharing modes with flock.");
        }

        var fullPath = Path.GetFullPath(path);
        var fd = NativeMethods.OpenReadOnlyNoLock(fullPath);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            var message = $"Cannot open '{fullPath}': {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).";
            throw errno switch
            {
                2 => new FileNotFoundException(message, fullPath), // ENOENT
                13 => new UnauthorizedAccessException(message), // EACCES
                _ => new IOException(message, errno),
            };
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            return new FileStream(handle, FileAccess.Read, bufferSize: 0);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies <paramref name="sourcePath"/> to <paramref name="destinationPath"/> (created or overwritten, mode 0600 on Unix)
    /// without locking the source, and flushes the copy to disk. Returns the number of bytes copied.
    /// </summary>
    public static async Task<long> CopyAsync(string sourcePath, string destinationPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(sourcePath);
        ArgumentException.ThrowIfNullOrEmpty(destinationPath);

        await using var source = OpenRead(sourcePath);
        var destinationOptions = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = 0,
            Options = FileOptions.Asynchronous,
        };
        if (!OperatingSystem.IsWindows())
        {
            destinationOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using var destination = new FileStream(destinationPath, destinationOptions);
        await source.CopyToAsync(destination, 1 << 20, cancellationToken).ConfigureAwait(false);
        await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
        destination.Flush(flushToDisk: true);
        return destination.Length;
    }
}
