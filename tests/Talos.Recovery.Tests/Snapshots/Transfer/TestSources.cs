using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Tests.Snapshots.Transfer;

/// <summary>Chunk sources that behave like network streams, good and bad.</summary>
internal static class TestSources
{
    /// <summary>
    /// Yields <paramref name="data"/> in chunks of <paramref name="chunkSize"/>, through one reused buffer, as a gRPC
    /// reader would: a writer that kept a chunk instead of copying it would write garbage.
    /// </summary>
    public static async IAsyncEnumerable<ReadOnlyMemory<byte>> Chunks(byte[] data, int chunkSize, Action<long>? beforeYield = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var buffer = new byte[chunkSize];
        for (var offset = 0; offset < data.Length; offset += chunkSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(chunkSize, data.Length - offset);
            beforeYield?.Invoke(offset);
            data.AsSpan(offset, count).CopyTo(buffer);
            yield return buffer.AsMemory(0, count);
            buffer.AsSpan().Fill(0xEE);
            if (offset % (64 * chunkSize) == 0)
            {
                await Task.Yield();
            }
        }
    }

    /// <summary>Chunks of varying odd sizes (1 to 5000 bytes).</summary>
    public static async IAsyncEnumerable<ReadOnlyMemory<byte>> OddChunks(byte[] data, int seed)
    {
        var random = new Random(seed);
        var offset = 0;
        while (offset < data.Length)
        {
            var count = Math.Min(random.Next(1, 5000), data.Length - offset);
            yield return data.AsMemory(offset, count);
            offset += count;
            await Task.Yield();
        }
    }

    /// <summary>Yields the first <paramref name="prefix"/> bytes, then fails with <paramref name="error"/>.</summary>
    public static async IAsyncEnumerable<ReadOnlyMemory<byte>> ThenThrow(byte[] data, int prefix, Exception error)
    {
        await foreach (var chunk in Chunks(data.AsSpan(0, prefix).ToArray(), 1024))
        {
            yield return chunk;
        }

        throw error;
    }

    /// <summary>Yields the first <paramref name="prefix"/> bytes, then waits forever (observing cancellation, or not).</summary>
    public static async IAsyncEnumerable<ReadOnlyMemory<byte>> ThenStall(byte[] data, int prefix, bool observeCancellation, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var chunk in Chunks(data.AsSpan(0, prefix).ToArray(), 1024))
        {
            yield return chunk;
        }

        if (observeCancellation)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        else
        {
            await new TaskCompletionSource().Task;
        }

        yield break;
    }

    /// <summary>Repeats <paramref name="pattern"/> without end (until the consumer stops).</summary>
    public static async IAsyncEnumerable<ReadOnlyMemory<byte>> Forever(byte[] pattern, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var counter = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return pattern;
            if (++counter % 256 == 0)
            {
                await Task.Yield();
            }
        }
    }

    /// <summary>Yields <paramref name="head"/>, then zeros without end.</summary>
    public static async IAsyncEnumerable<ReadOnlyMemory<byte>> HeadThenZeros(byte[] head, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        yield return head;
        await foreach (var chunk in Forever(new byte[32 * 1024], cancellationToken))
        {
            yield return chunk;
        }
    }

    /// <summary>A copy of <paramref name="snapshot"/> with one byte flipped.</summary>
    public static byte[] Flip(byte[] snapshot, long offset)
    {
        var copy = (byte[])snapshot.Clone();
        copy[offset] ^= 0x5A;
        return copy;
    }

    /// <summary>
    /// A structurally damaged snapshot whose trailer is nevertheless right: the root page's header names another page
    /// id, and the trailer is recomputed over the damaged bytes.
    /// </summary>
    public static byte[] DamagedStructureWithValidTrailer(byte[] snapshot)
    {
        var copy = (byte[])snapshot.Clone();
        var pageSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(copy.AsSpan(24));
        var root = (long)BinaryPrimitives.ReadUInt64LittleEndian(copy.AsSpan(32));
        BinaryPrimitives.WriteUInt64LittleEndian(copy.AsSpan((int)(root * pageSize)), (ulong)root + 1000);
        SHA256.HashData(copy.AsSpan(0, copy.Length - 32), copy.AsSpan(copy.Length - 32));
        return copy;
    }

    public static bool IsMounted(string path) => File.ReadAllLines("/proc/mounts").Any(l => l.Split(' ')[1] == path);
}

/// <summary>Collects progress reports synchronously (unlike <see cref="Progress{T}"/>, which posts them).</summary>
internal sealed class RecordingProgress : IProgress<SnapshotProgress>
{
    private readonly List<SnapshotProgress> _reports = [];

    public IReadOnlyList<SnapshotProgress> Reports
    {
        get
        {
            lock (_reports)
            {
                return [.. _reports];
            }
        }
    }

    public void Report(SnapshotProgress value)
    {
        lock (_reports)
        {
            _reports.Add(value);
        }
    }
}

/// <summary>Sets the process umask for a test and restores it.</summary>
internal static partial class Umask
{
    public static IDisposable Set(uint mask)
    {
        var previous = NativeUmask(mask);
        return new Restore(previous);
    }

    [LibraryImport("libc", EntryPoint = "umask")]
    private static partial uint NativeUmask(uint mask);

    private sealed class Restore(uint previous) : IDisposable
    {
        public void Dispose() => NativeUmask(previous);
    }
}

/// <summary>A small tmpfs mounted for one test (we run as root); ignored where mounting is impossible.</summary>
internal sealed class SmallTmpfs : IDisposable
{
    private SmallTmpfs(string path) => Path = path;

    public string Path { get; }

    public static SmallTmpfs Mount(long bytes)
    {
        var path = TransferSnapshots.NewDirectory();
        using var mount = System.Diagnostics.Process.Start("mount", ["-t", "tmpfs", "-o", $"size={bytes},mode=0700", "tmpfs", path])!;
        mount.WaitForExit();
        if (mount.ExitCode != 0 || !TestSources.IsMounted(path))
        {
            Assert.Ignore($"cannot mount a tmpfs at {path} (not root, or no mount permission in this container)");
        }

        return new SmallTmpfs(path);
    }

    public void Dispose()
    {
        using var umount = System.Diagnostics.Process.Start("umount", [Path])!;
        umount.WaitForExit();
    }
}
