using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Talos.Recovery.Client;

/// <summary>Reads a talosconfig file (bounded, strict UTF-8) and writes one atomically with owner-only access.</summary>
internal static class TalosConfigFile
{
    /// <summary>Far above any real talosconfig (a context is a few KiB); stops a wrong path such as a disk image.</summary>
    public const int MaxLength = 16 * 1024 * 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads the file as text. Opens it read-only; creates nothing.</summary>
    /// <exception cref="TalosConfigNotFoundException">The file does not exist.</exception>
    /// <exception cref="TalosConfigException">It cannot be read, is too large, or is not UTF-8 text.</exception>
    public static string Read(string path)
    {
        if (Directory.Exists(path))
        {
            throw new TalosConfigException($"talosconfig '{path}' is a directory, not a file.", path, null, null);
        }

        byte[] bytes;
        try
        {
            // A FIFO or /dev/stdin has no length: read in bounded pieces instead of trusting FileStream.Length.
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1, FileOptions.SequentialScan);
            using var buffer = new MemoryStream();
            byte[] chunk = new byte[64 * 1024];
            int read;
            while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
            {
                if (buffer.Length + read > MaxLength)
                {
                    throw new TalosConfigException(
                        string.Create(CultureInfo.InvariantCulture, $"talosconfig '{path}' is larger than {MaxLength / (1024 * 1024)} MiB; it is not a talosconfig."),
                        path,
                        null,
                        null);
                }

                buffer.Write(chunk, 0, read);
            }

            bytes = buffer.ToArray();
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new TalosConfigNotFoundException($"talosconfig '{path}' does not exist.", path, [path], e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new TalosConfigException($"talosconfig '{path}' cannot be read: permission denied.", path, null, null, e);
        }
        catch (IOException e)
        {
            throw new TalosConfigException($"talosconfig '{path}' cannot be read: {e.Message}", path, null, null, e);
        }

        try
        {
            ReadOnlySpan<byte> text = bytes;
            if (text.StartsWith(Encoding.UTF8.Preamble))
            {
                text = text[Encoding.UTF8.Preamble.Length..];
            }

            return StrictUtf8.GetString(text);
        }
        catch (DecoderFallbackException e)
        {
            throw new TalosConfigException($"talosconfig '{path}' is not UTF-8 text; is it the right file?", path, null, null, e);
        }
    }

    /// <summary>
    /// Replaces <paramref name="path"/> with <paramref name="text"/> atomically: a temporary file beside it, created
    /// with mode 0600, written and flushed to disk, then renamed over it. A symbolic link is followed, so the link
    /// stays and its target is replaced. A missing parent directory is created with mode 0700.
    /// </summary>
    /// <exception cref="TalosConfigException">The file cannot be written.</exception>
    public static void WriteAtomically(string path, string text)
    {
        string target = Path.GetFullPath(path);
        try
        {
            if (File.ResolveLinkTarget(target, returnFinalTarget: true) is { } linkTarget)
            {
                target = linkTarget.FullName;
            }
        }
        catch (IOException)
        {
            // Not a link, or a dangling one: write the path itself.
        }

        string directory = Path.GetDirectoryName(target) ?? throw new ArgumentException($"'{path}' has no parent directory.", nameof(path));
        string temporary = Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $".{Path.GetFileName(target)}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.tmp"));
        try
        {
            if (!Directory.Exists(directory))
            {
                if (OperatingSystem.IsWindows())
                {
                    Directory.CreateDirectory(directory);
                }
                else
                {
                    Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                }
            }

            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(StrictUtf8.GetBytes(text));
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            throw new TalosConfigException($"talosconfig '{path}' cannot be written: {e.Message}", path, null, null, e);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the temporary name is unique, a leftover does not break later saves.
        }
    }
}
