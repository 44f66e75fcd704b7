using System.Buffers.Binary;
using System.Numerics;
using Talos.Recovery.Bolt;

namespace Talos.Recovery.Snapshots;

/// <summary>
/// The set of live user keys (etcd 3.6's TotalKey rule), stored as offsets into the mapped file rather than
/// copies: 16 bytes per key in an open-addressing table, compared byte for byte, so the count is exact.
/// </summary>
internal sealed class LiveKeySet
{
    private readonly BoltMemory _memory;
    private Slot[] _slots = new Slot[1024];
    private int _mask = 1023;

    public LiveKeySet(BoltMemory memory)
    {
        _memory = memory;
    }

    public long Count { get; private set; }

    public void Add(ReadOnlySpan<byte> key, long keyOffset) => Add(Hash(key), keyOffset, key.Length);

    /// <summary>Adds the key at <paramref name="keyOffset"/> of the file, whose <see cref="Hash"/> is known.</summary>
    public void Add(ulong hash, long keyOffset, int length)
    {
        if ((Count + 1) * 4 > _slots.Length * 3L)
        {
            Grow();
        }

        var index = (int)hash & _mask;
        while (true)
        {
            ref var slot = ref _slots[index];
            if (slot.Length == 0)
            {
                slot = new Slot(keyOffset, length + 1, (uint)hash);
                Count++;
                return;
            }

            if (slot.Hash == (uint)hash && slot.Length - 1 == length && _memory.Span(slot.Offset, length).SequenceEqual(_memory.Span(keyOffset, length)))
            {
                return;
            }

            index = (index + 1) & _mask;
        }
    }

    public void Remove(ReadOnlySpan<byte> key, long keyOffset) => Remove(Hash(key), keyOffset, key.Length);

    /// <summary>Removes the key at <paramref name="keyOffset"/> of the file, whose <see cref="Hash"/> is known.</summary>
    public void Remove(ulong hash, long keyOffset, int length)
    {
        var key = _memory.Span(keyOffset, length);
        var index = (int)hash & _mask;
        while (true)
        {
            ref var slot = ref _slots[index];
            if (slot.Length == 0)
            {
                return;
            }

            if (slot.Hash == (uint)hash && slot.Length - 1 == key.Length && _memory.Span(slot.Offset, key.Length).SequenceEqual(key))
            {
                break;
            }

            index = (index + 1) & _mask;
        }

        // Backward-shift deletion keeps linear probing free of tombstones.
        Count--;
        var hole = index;
        var next = (hole + 1) & _mask;
        while (_slots[next].Length != 0)
        {
            var home = (int)_slots[next].Hash & _mask;
            var distanceHome = (next - home) & _mask;
            var distanceHole = (next - hole) & _mask;
            if (distanceHome >= distanceHole)
            {
                _slots[hole] = _slots[next];
                hole = next;
            }

            next = (next + 1) & _mask;
        }

        _slots[hole] = default;
    }

    /// <summary>The offset and length of every live key, in no order.</summary>
    public IEnumerable<(long Offset, int Length)> Keys()
    {
        foreach (var slot in _slots)
        {
            if (slot.Length != 0)
            {
                yield return (slot.Offset, slot.Length - 1);
            }
        }
    }

    private void Grow()
    {
        var old = _slots;
        _slots = new Slot[old.Length * 2];
        _mask = _slots.Length - 1;
        foreach (var slot in old)
        {
            if (slot.Length == 0)
            {
                continue;
            }

            var index = (int)slot.Hash & _mask;
            while (_slots[index].Length != 0)
            {
                index = (index + 1) & _mask;
            }

            _slots[index] = slot;
        }
    }

    internal static ulong Hash(ReadOnlySpan<byte> key)
    {
        var hash = 0x9E3779B97F4A7C15UL ^ (ulong)key.Length;
        while (key.Length >= 8)
        {
            hash = BitOperations.RotateLeft((hash ^ BinaryPrimitives.ReadUInt64LittleEndian(key)) * 0xBF58476D1CE4E5B9UL, 31);
            key = key[8..];
        }

        ulong tail = 0;
        for (var i = 0; i < key.Length; i++)
        {
            tail |= (ulong)key[i] << (8 * i);
        }

        hash = (hash ^ tail) * 0x94D049BB133111EBUL;
        hash ^= hash >> 29;
        hash *= 0xBF58476D1CE4E5B9UL;
        return hash ^ (hash >> 32);
    }

    /// <summary>Length is stored plus one so that 0 marks an empty slot (etcd keys may be empty only in corner cases).</summary>
    private readonly record struct Slot(long Offset, int LengthPlusOne, uint Hash)
    {
        public int Length => LengthPlusOne;
    }
}
