using System.Buffers;
using System.Security.Cryptography;

namespace Talos.Recovery.Snapshots;

/// <summary>
/// SHA-256 over a stream whose last 32 bytes may be etcd's trailer: every byte is hashed except the last 32 seen so
/// far, which are held back (a 32-byte lag) until more bytes push them into the hash or the stream ends. At the end
/// the held-back bytes are either the trailer (left out) or the end of a raw copy (hashed).
/// </summary>
internal sealed class SnapshotWriterHasher : IDisposable
{
    private const int Lag = SnapshotFile.TrailerLength;

    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _tail = new byte[Lag];
    private int _tailLength;

    /// <summary>The last (up to) 32 bytes seen, not yet hashed.</summary>
    public ReadOnlySpan<byte> Tail => _tail.AsSpan(0, _tailLength);

    public void Append(in ReadOnlySequence<byte> data)
    {
        if (data.IsSingleSegment)
        {
            Append(data.FirstSpan);
            return;
        }

        foreach (var segment in data)
        {
            Append(segment.Span);
        }
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        if (data.Length >= Lag)
        {
            if (_tailLength > 0)
            {
                _hash.AppendData(_tail.AsSpan(0, _tailLength));
            }

            _hash.AppendData(data[..^Lag]);
            data[^Lag..].CopyTo(_tail);
            _tailLength = Lag;
            return;
        }

        var overflow = _tailLength + data.Length - Lag;
        if (overflow > 0)
        {
            _hash.AppendData(_tail.AsSpan(0, overflow));
            _tail.AsSpan(overflow, _tailLength - overflow).CopyTo(_tail);
            _tailLength -= overflow;
        }

        data.CopyTo(_tail.AsSpan(_tailLength));
        _tailLength += data.Length;
    }

    /// <summary>The digest of everything but the held-back tail (<paramref name="includeTail"/> false) or of everything.</summary>
    public byte[] Finish(bool includeTail)
    {
        if (includeTail && _tailLength > 0)
        {
            _hash.AppendData(_tail.AsSpan(0, _tailLength));
        }

        return _hash.GetHashAndReset();
    }

    public void Dispose() => _hash.Dispose();
}
