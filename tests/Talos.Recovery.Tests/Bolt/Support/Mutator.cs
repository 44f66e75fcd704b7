using System.Globalization;
using System.Text;

namespace Talos.Recovery.Tests.Bolt.Support;

/// <summary>The kinds of random damage <see cref="Mutator"/> applies.</summary>
internal enum MutationKind
{
    BitFlip,
    ByteRun,
    Truncate,
    Extend,
    ZeroPage,
    SwapPages,
    PageHeader,
    Element,
    Meta,
    Inline,
    Freelist,
}

/// <summary>One mutated file: its bytes (the first <see cref="Length"/>) and what was done, for failure messages.</summary>
/// <param name="Seed">Reproduces it: <c>Mutator.Apply(base, Seed)</c>.</param>
/// <param name="Kind">The kind of damage.</param>
/// <param name="Description">What was changed, where.</param>
/// <param name="Bytes">The buffer (may be longer than <paramref name="Length"/>).</param>
/// <param name="Length">The mutated file's length.</param>
/// <param name="MustFail">The change breaks an invariant the checker must catch even without a trailer.</param>
/// <param name="OnlyIrrelevant">Only bytes no reader may look at changed (free pages, the data-dir tail): the file must stay valid with the same status.</param>
internal sealed record Mutation(int Seed, MutationKind Kind, string Description, byte[] Bytes, int Length, bool MustFail, bool OnlyIrrelevant)
{
    public ReadOnlyMemory<byte> Memory => Bytes.AsMemory(0, Length);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"seed {Seed} {Kind}: {Description}");
}

/// <summary>
/// Seeded random damage to a <see cref="BoltFile"/>: bit flips, byte runs, truncation and extension, zeroed and
/// swapped pages, page header fields, element fields, meta fields (with the checksum recomputed), inline bucket
/// bytes and freelist edits. Biased toward structure (headers, element arrays, metas) so most mutations hit
/// something the checker reads. Deterministic: the same base and seed give the same mutation.
/// </summary>
internal static class Mutator
{
    private static readonly (MutationKind Kind, int Weight)[] Weights =
    [
        (MutationKind.BitFlip, 15),
        (MutationKind.ByteRun, 10),
        (MutationKind.Truncate, 7),
        (MutationKind.Extend, 2),
        (MutationKind.ZeroPage, 6),
        (MutationKind.SwapPages, 7),
        (MutationKind.PageHeader, 14),
        (MutationKind.Element, 15),
        (MutationKind.Meta, 12),
        (MutationKind.Inline, 7),
        (MutationKind.Freelist, 5),
    ];

    /// <summary>The buffer size <see cref="Apply"/> needs for <paramref name="f"/> (room to append).</summary>
    public static int BufferLength(BoltFile f) => f.Bytes.Length + (2 * f.PageSize) + 1;

    /// <summary>
    /// Mutates a copy of <paramref name="f"/>. With <paramref name="buffer"/> (at least <see cref="BufferLength"/>
    /// bytes) the copy is made there and the result aliases it; otherwise a new array is allocated.
    /// </summary>
    public static Mutation Apply(BoltFile f, int seed, byte[]? buffer = null)
    {
        var rng = new Random(seed);
        var total = Weights.Sum(w => w.Weight);
        var pick = rng.Next(total);
        var kind = Weights[0].Kind;
        foreach (var (k, w) in Weights)
        {
            if (pick < w)
            {
                kind = k;
                break;
            }

            pick -= w;
        }

        if (kind == MutationKind.Freelist && f.FreelistPageId is null)
        {
            kind = MutationKind.Element;
        }

        if (kind == MutationKind.Inline && !f.Buckets.Values.Any(b => b.IsInline))
        {
            kind = MutationKind.Element;
        }

        buffer ??= new byte[BufferLength(f)];
        if (buffer.Length < BufferLength(f))
        {
            throw new ArgumentException("buffer too small", nameof(buffer));
        }

        f.Bytes.CopyTo(buffer, 0);
        var ctx = new Context(f, rng, seed, kind, buffer);
        ctx.Run();
        return new Mutation(seed, kind, ctx.Description.ToString(), ctx.Bytes, ctx.Length, ctx.MustFail, ctx.OnlyIrrelevant && !ctx.TouchedRelevant);
    }

    private sealed class Context(BoltFile f, Random rng, int seed, MutationKind kind, byte[] buffer)
    {
        private readonly int _p = f.PageSize;

        public byte[] Bytes { get; } = buffer;

        public int Length { get; private set; } = f.Bytes.Length;

        public StringBuilder Description { get; } = new();

        public bool MustFail { get; private set; }

        /// <summary>Set when every change so far was inside irrelevant bytes.</summary>
        public bool OnlyIrrelevant { get; private set; } = true;

        public bool TouchedRelevant { get; private set; }

        private List<BoltPageInfo> LivePages => f.Pages.Where(p => p.Kind is BoltPageKind.Branch or BoltPageKind.Leaf).ToList();

        public void Run()
        {
            _ = seed;
            switch (kind)
            {
                case MutationKind.BitFlip: BitFlip(); break;
                case MutationKind.ByteRun: ByteRun(); break;
                case MutationKind.Truncate: Truncate(); break;
                case MutationKind.Extend: Extend(); break;
                case MutationKind.ZeroPage: ZeroPage(); break;
                case MutationKind.SwapPages: SwapPages(); break;
                case MutationKind.PageHeader: PageHeader(); break;
                case MutationKind.Element: Element(); break;
                case MutationKind.Meta: Meta(); break;
                case MutationKind.Inline: Inline(); break;
                case MutationKind.Freelist: Freelist(); break;
            }
        }

        // ---- offsets ---------------------------------------------------------------------------------------

        private long HotOffset()
        {
            switch (rng.Next(4))
            {
                case 0:
                    return ((long)rng.Next(2) * _p) + rng.Next(80);
                case 1:
                    return f.PageOffset((ulong)rng.Next((int)f.Pgid)) + rng.Next(16);
                case 2:
                    var live = LivePages;
                    var page = live[rng.Next(live.Count)];
                    return f.PageOffset(page.Id) + 16 + rng.Next(Math.Max(1, Math.Min(page.Count * 16, (_p * (page.Overflow + 1)) - 16)));
                default:
                    var inline = f.Buckets.Values.Where(b => b.IsInline).ToList();
                    if (inline.Count == 0)
                    {
                        goto case 1;
                    }

                    var b = inline[rng.Next(inline.Count)];
                    return b.InlineValueOffset + rng.Next(b.InlineValueLength);
            }
        }

        private long AnyOffset() => rng.Next(2) == 0 ? rng.NextInt64(Length) : HotOffset();

        private void Touch(long from, long length)
        {
            for (var at = from; at < from + length; at++)
            {
                if (!Irrelevant(at))
                {
                    TouchedRelevant = true;
                    return;
                }
            }
        }

        /// <summary>Bytes nobody may read: free pages and the data-dir tail (not the trailer).</summary>
        private bool Irrelevant(long at)
        {
            if (at >= f.DatabaseLength)
            {
                return at < f.DatabaseLength + f.TailLength;
            }

            return f.Pages[(int)(at / _p)].Kind == BoltPageKind.Free;
        }

        private void Note(FormattableString text) => Description.Append(text.ToString(CultureInfo.InvariantCulture));

        // ---- mutations -------------------------------------------------------------------------------------

        private void BitFlip()
        {
            var n = rng.Next(8) == 0 ? 1 + rng.Next(8) : 1;
            for (var i = 0; i < n; i++)
            {
                var at = AnyOffset();
                var bit = rng.Next(8);
                Bytes[at] ^= (byte)(1 << bit);
                Touch(at, 1);
                Note($"flip bit {bit} at 0x{at:x} (page {at / _p}); ");
            }
        }

        private void ByteRun()
        {
            var at = AnyOffset();
            var length = rng.Next(10) == 0 ? 1 + rng.Next(_p) : 1 + rng.Next(64);
            length = (int)Math.Min(length, Length - at);
            var fill = rng.Next(3);
            var span = Bytes.AsSpan((int)at, length);
            if (fill == 0)
            {
                rng.NextBytes(span);
            }
            else
            {
                span.Fill(fill == 1 ? (byte)0 : (byte)0xFF);
            }

            Touch(at, length);
            Note($"overwrite {length} bytes at 0x{at:x} (page {at / _p}) with {(fill == 0 ? "random" : fill == 1 ? "0x00" : "0xFF")}");
        }

        private void Truncate()
        {
            int length;
            if (rng.Next(2) == 0)
            {
                length = rng.Next(Length);
            }
            else
            {
                var page = rng.Next((int)f.Pgid + 1);
                int[] deltas = [0, -1, 1, -16, 16, 32, -32, 80];
                length = Math.Clamp((page * _p) + deltas[rng.Next(deltas.Length)], 0, Length - 1);
            }

            Length = length;
            TouchedRelevant = true;
            MustFail = length < f.DatabaseLength;
            Note($"truncate to {length} bytes (database part is {f.DatabaseLength})");
        }

        private void Extend()
        {
            var extra = 1 + rng.Next(2 * _p);
            rng.NextBytes(Bytes.AsSpan(Length, extra));
            Length += extra;
            TouchedRelevant = true;
            Note($"append {extra} random bytes");
        }

        private void ZeroPage()
        {
            var pages = (int)Math.Min((long)f.Pgid, Length / _p);
            var id = (ulong)rng.Next(pages);
            Bytes.AsSpan((int)f.PageOffset(id), _p).Clear();
            Touch(f.PageOffset(id), _p);
            MustFail = f.Page(id).Kind is BoltPageKind.Branch or BoltPageKind.Leaf or BoltPageKind.Freelist;
            Note($"zero page {id} ({f.Page(id).Kind})");
        }

        private void SwapPages()
        {
            var pages = (int)Math.Min((long)f.Pgid, Length / _p);
            var a = (ulong)rng.Next(pages);
            var b = (ulong)rng.Next(pages);
            BoltBytes.SwapPages(Bytes, _p, (long)a, (long)b);
            Touch(f.PageOffset(a), _p);
            Touch(f.PageOffset(b), _p);
            var ka = f.Page(a).Kind;
            var kb = f.Page(b).Kind;

            // Swapping a live header page with anything else leaves a header naming the wrong position.
            MustFail = a != b && (IsHeaderPage(ka) || IsHeaderPage(kb)) && !Bytes.AsSpan((int)f.PageOffset(a), _p).SequenceEqual(f.Bytes.AsSpan((int)f.PageOffset(a), _p));
            Note($"swap pages {a} ({ka}) and {b} ({kb})");
        }

        private static bool IsHeaderPage(BoltPageKind kind) => kind is BoltPageKind.Branch or BoltPageKind.Leaf or BoltPageKind.Freelist;

        private void PageHeader()
        {
            BoltPageInfo page;
            if (rng.Next(10) < 7)
            {
                var live = f.Pages.Where(p => IsHeaderPage(p.Kind)).ToList();
                page = live[rng.Next(live.Count)];
            }
            else
            {
                page = f.Pages[rng.Next(f.Pages.Count)];
            }

            var at = f.PageOffset(page.Id);
            var live2 = IsHeaderPage(page.Kind);
            switch (rng.Next(5))
            {
                case 0:
                    var id = PageIdValue(page.Id);
                    BoltBytes.U64(Bytes, at, id);
                    MustFail = live2 && id != page.Id;
                    Note($"page {page.Id} ({page.Kind}) header id := {id}");
                    Touch(at, 8);
                    break;
                case 1:
                    ushort[] flags = [0, 1, 2, 4, 0x10, 3, 0x12, 0x11, 0x20, 0xFFFF, (ushort)rng.Next(0x10000)];
                    var flag = flags[rng.Next(flags.Length)];
                    BoltBytes.U16(Bytes, at + 8, flag);
                    MustFail = page.Kind switch
                    {
                        BoltPageKind.Branch or BoltPageKind.Leaf => flag is not (1 or 2),
                        BoltPageKind.Freelist => flag != 0x10,
                        _ => false,
                    };
                    Note($"page {page.Id} ({page.Kind}) flags := 0x{flag:x}");
                    Touch(at + 8, 2);
                    break;
                case 2:
                    var old = BoltBytes.ReadU16(f.Bytes, at + 10);
                    ushort[] counts = [0, 1, (ushort)(old - 1), (ushort)(old + 1), 0xFFFE, 0xFFFF, (ushort)rng.Next(0x10000), (ushort)rng.Next(300)];
                    var count = counts[rng.Next(counts.Length)];
                    BoltBytes.U16(Bytes, at + 10, count);
                    MustFail = (page.Kind is BoltPageKind.Branch or BoltPageKind.Leaf) && 16L + (16L * count) > (long)_p * (page.Overflow + 1);
                    Note($"page {page.Id} ({page.Kind}) count {old} := {count}");
                    Touch(at + 10, 2);
                    break;
                case 3:
                    var ovf = BoltBytes.ReadU32(f.Bytes, at + 12);
                    uint[] overflows = [0, 1, ovf + 1, ovf - 1, 0xFFFFFFFF, 0x7FFFFFFF, (uint)(f.Pgid - page.Id), (uint)rng.Next(100)];
                    var o = overflows[rng.Next(overflows.Length)];
                    BoltBytes.U32(Bytes, at + 12, o);
                    MustFail = live2 && page.Id + o >= f.Pgid;
                    Note($"page {page.Id} ({page.Kind}) overflow {ovf} := {o}");
                    Touch(at + 12, 4);
                    break;
                default:
                    rng.NextBytes(Bytes.AsSpan((int)at, 16));
                    Note($"page {page.Id} ({page.Kind}) header := random");
                    Touch(at, 16);
                    break;
            }
        }

        private ulong PageIdValue(ulong current)
        {
            ulong[] values = [0, 1, 2, f.Pgid - 1, f.Pgid, f.Pgid + 1, (ulong)rng.NextInt64((long)f.Pgid), current + 1, current - 1, 1UL << 32, 1UL << 63, ulong.MaxValue, f.RootPageId];
            return values[rng.Next(values.Length)];
        }

        private uint SizeValue(uint current)
        {
            uint[] values = [0, 1, 2, current + 1, current - 1, current + 16, (uint)_p - 1, (uint)_p, (uint)_p + 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, (uint)rng.Next(5000), 32768, 32769];
            return values[rng.Next(values.Length)];
        }

        private void Element()
        {
            var live = LivePages.Where(p => p.Count > 0).ToList();
            var page = live[rng.Next(live.Count)];
            var e = f.Element(page.Id, rng.Next(page.Count));
            if (e.IsBranch)
            {
                switch (rng.Next(3))
                {
                    case 0:
                        var pos = SizeValue(BoltBytes.ReadU32(f.Bytes, e.PosOffset));
                        BoltBytes.U32(Bytes, e.PosOffset, pos);
                        Note($"branch {page.Id} element {e.Index} pos := {pos}");
                        break;
                    case 1:
                        var ks = SizeValue((uint)e.KeyLength);
                        BoltBytes.U32(Bytes, e.KeySizeOffset, ks);
                        MustFail = ks == 0;
                        Note($"branch {page.Id} element {e.Index} ksize := {ks}");
                        break;
                    default:
                        var child = PageIdValue(e.ChildPageId);
                        BoltBytes.U64(Bytes, e.ChildOffset, child);
                        MustFail = child >= f.Pgid || child < 2;
                        Note($"branch {page.Id} element {e.Index} child {e.ChildPageId} := {child}");
                        break;
                }
            }
            else
            {
                switch (rng.Next(5))
                {
                    case 0:
                        uint[] flags = [0, 1, 2, 3, 0x80000000, (uint)rng.Next()];
                        var fl = flags[rng.Next(flags.Length)];
                        BoltBytes.U32(Bytes, e.ElementOffset, fl);
                        MustFail = fl > 1 || (page.BucketPath!.Length == 0 && fl == 0);
                        Note($"leaf {page.Id} element {e.Index} flags {e.Flags} := {fl}");
                        break;
                    case 1:
                        var pos = SizeValue(BoltBytes.ReadU32(f.Bytes, e.PosOffset));
                        BoltBytes.U32(Bytes, e.PosOffset, pos);
                        Note($"leaf {page.Id} element {e.Index} pos := {pos}");
                        break;
                    case 2:
                        var ks = SizeValue((uint)e.KeyLength);
                        BoltBytes.U32(Bytes, e.KeySizeOffset, ks);
                        MustFail = ks == 0;
                        Note($"leaf {page.Id} element {e.Index} ksize {e.KeyLength} := {ks}");
                        break;
                    case 3:
                        var vs = SizeValue((uint)e.ValueLength);
                        BoltBytes.U32(Bytes, e.ValueSizeOffset, vs);
                        Note($"leaf {page.Id} element {e.Index} vsize {e.ValueLength} := {vs}");
                        break;
                    default:
                        if (e.Flags == BoltBytes.BucketLeafFlag && e.ValueLength >= 16)
                        {
                            var root = PageIdValue(BoltBytes.ReadU64(f.Bytes, e.ValueOffset));
                            BoltBytes.U64(Bytes, e.ValueOffset, root);
                            MustFail = root >= f.Pgid && root != 0;
                            Note($"leaf {page.Id} element {e.Index} bucket root := {root}");
                        }
                        else
                        {
                            var at = e.KeyOffset + rng.Next(Math.Max(1, e.KeyLength));
                            Bytes[at] ^= (byte)(1 + rng.Next(255));
                            Note($"leaf {page.Id} element {e.Index} key byte 0x{at:x} changed");
                        }

                        break;
                }
            }

            TouchedRelevant = true;
        }

        private void Meta()
        {
            var which = rng.Next(5); // 0, 1: one meta; else both
            var field = rng.Next(9);
            ulong value = field switch
            {
                0 => rng.Next(2) == 0 ? 0xDEADBEEF : BoltBytes.Magic ^ (1u << rng.Next(32)),
                1 => (ulong)rng.Next(4),
                2 => new ulong[] { 0, 256, 512, 1024, 2048, 4096, 8192, 16384, 65536, 4000, 1UL << 20, 1UL << 21, uint.MaxValue }[rng.Next(13)],
                3 => (ulong)rng.Next(),
                4 => PageIdValue(f.RootPageId),
                5 => (ulong)rng.NextInt64(),
                6 => rng.Next(3) == 0 ? BoltBytes.NoFreelist : PageIdValue(f.FreelistPageId ?? BoltBytes.NoFreelist),
                7 => new ulong[] { 0, 1, 2, f.Pgid - 1, f.Pgid + 1, f.Pgid * 2, 1UL << 40, ulong.MaxValue, ulong.MaxValue / (ulong)_p, (ulong)rng.NextInt64() }[rng.Next(10)],
                _ => new ulong[] { 0, 1, f.TxId + 1, f.TxId - 2, ulong.MaxValue, (ulong)rng.NextInt64() }[rng.Next(6)],
            };
            var recompute = rng.Next(10) != 0;
            string[] names = ["magic", "version", "pageSize", "flags", "root", "sequence", "freelist", "pgid", "txid"];
            for (var meta = 0; meta < 2; meta++)
            {
                if (which < 2 && which != meta)
                {
                    continue;
                }

                BoltBytes.RewriteMeta(
                    Bytes,
                    _p,
                    meta,
                    m => field switch
                    {
                        0 => m with { Magic = (uint)value },
                        1 => m with { Version = (uint)value },
                        2 => m with { PageSize = (uint)value },
                        3 => m with { Flags = (uint)value },
                        4 => m with { Root = value },
                        5 => m with { Sequence = value },
                        6 => m with { Freelist = value },
                        7 => m with { Pgid = value },
                        _ => m with { TxId = value + (ulong)(meta == 0 ? 0 : -1) },
                    },
                    recompute);
            }

            TouchedRelevant = true;
            var both = which >= 2;
            var changed = !Bytes.AsSpan(0, 80).SequenceEqual(f.Bytes.AsSpan(0, 80)) || !Bytes.AsSpan(_p, 80).SequenceEqual(f.Bytes.AsSpan(_p, 80));
            var synced = f.FreelistPageId is not null;
            var lastUsed = f.Pages.Where(p => p.Kind is BoltPageKind.Branch or BoltPageKind.Leaf or BoltPageKind.Freelist).Max(p => p.Id + (ulong)p.Overflow);
            var databaseBytes = Length - (f.HasTrailer ? BoltBytes.TrailerLength : 0);
            MustFail = both && changed && field switch
            {
                0 or 1 or 2 => true,
                4 => synced || value >= f.Pgid || value < 2,
                6 => synced ? value != BoltBytes.NoFreelist : value < 2 || value >= f.Pgid || f.Pages[(int)value].Kind is BoltPageKind.Branch or BoltPageKind.Leaf,
                7 => synced || value <= lastUsed || value > (ulong)(databaseBytes / _p),
                _ => false,
            };
            if (both && changed && !recompute)
            {
                MustFail = true; // both checksums stale
            }

            Note($"meta {(which < 2 ? which.ToString(CultureInfo.InvariantCulture) : "0+1")} {names[field]} := {value} (checksum {(recompute ? "recomputed" : "stale")})");
        }

        private void Inline()
        {
            var inline = f.Buckets.Values.Where(b => b.IsInline).ToList();
            var b = inline[rng.Next(inline.Count)];
            var value = b.InlineValueOffset;
            var count = BoltBytes.ReadU16(f.Bytes, b.InlinePageOffset + 10);
            switch (rng.Next(6))
            {
                case 0:
                    var root = PageIdValue(0);
                    BoltBytes.U64(Bytes, value, root);
                    MustFail = root >= f.Pgid;
                    Note($"inline bucket '{b.Path}' header root := {root}");
                    break;
                case 1:
                    ushort[] flags = [0, 1, 3, 4, 0x10, 0x12, 0xFFFF];
                    var fl = flags[rng.Next(flags.Length)];
                    BoltBytes.U16(Bytes, b.InlinePageOffset + 8, fl);
                    MustFail = true;
                    Note($"inline bucket '{b.Path}' page flags := 0x{fl:x}");
                    break;
                case 2:
                    ushort[] counts = [(ushort)(count + 1), (ushort)(count + 2), 0xFFFF, (ushort)rng.Next(100)];
                    var c = counts[rng.Next(counts.Length)];
                    BoltBytes.U16(Bytes, b.InlinePageOffset + 10, c);
                    MustFail = c > count && 32L + (16L * c) > b.InlineValueLength;
                    Note($"inline bucket '{b.Path}' count {count} := {c}");
                    break;
                case 3 when count > 0:
                    var e = f.InlineElement(b.Path, rng.Next(count));
                    var which = rng.Next(4);
                    var offset = e.ElementOffset + (4 * which);
                    var v = which == 0 ? new uint[] { 1, 2, 3 }[rng.Next(3)] : SizeValue(BoltBytes.ReadU32(f.Bytes, offset));
                    BoltBytes.U32(Bytes, offset, v);
                    MustFail = which == 0 || (which == 2 && v == 0);
                    Note($"inline bucket '{b.Path}' element {e.Index} field {which} := {v}");
                    break;
                case 4:
                    var entry = b.EntryInParent!.Value;
                    var vs = SizeValue((uint)entry.ValueLength);
                    BoltBytes.U32(Bytes, entry.ValueSizeOffset, vs);
                    MustFail = vs < 32;
                    Note($"inline bucket '{b.Path}' value size {entry.ValueLength} := {vs}");
                    break;
                default:
                    var at = value + rng.Next(b.InlineValueLength);
                    Bytes[at] ^= (byte)(1 + rng.Next(255));
                    Note($"inline bucket '{b.Path}' byte 0x{at:x} (+{at - value}) changed");
                    break;
            }

            TouchedRelevant = true;
        }

        private void Freelist()
        {
            var at = f.PageOffset(f.FreelistPageId!.Value);
            var n = f.FreePageIds.Count;
            var header = n >= 0xFFFF ? 24 : 16;
            switch (rng.Next(4))
            {
                case 0 when n < 0xFFFF:
                    ushort[] counts = [0, (ushort)(n - 1), (ushort)(n + 1), (ushort)(n + 2), 0xFFFF, (ushort)rng.Next(0x10000)];
                    var c = counts[rng.Next(counts.Length)];
                    BoltBytes.U16(Bytes, at + 10, c);
                    MustFail = c != n && c != 0xFFFF;
                    Note($"freelist count {n} := {c}");
                    break;
                case 1 when n > 0:
                    var i = rng.Next(n);
                    var id = PageIdValue(f.FreePageIds[i]);
                    BoltBytes.U64(Bytes, at + header + (8L * i), id);
                    MustFail = id != f.FreePageIds.Order().ElementAt(i);
                    Note($"freelist id [{i}] := {id}");
                    break;
                case 2:
                    var live = f.Pages.Where(p => p.Kind is BoltPageKind.Branch or BoltPageKind.Leaf).ToList();
                    var target = live[rng.Next(live.Count)].Id;
                    if (n < 0xFFFF && 16 + (8L * (n + 1)) <= _p)
                    {
                        BoltBytes.U16(Bytes, at + 10, (ushort)(n + 1));
                        BoltBytes.U64(Bytes, at + 16 + (8L * n), target);
                        MustFail = true;
                        Note($"freelist: append reachable page {target}");
                    }
                    else
                    {
                        Note($"freelist: no room to append");
                    }

                    break;
                default:
                    var off = at + rng.Next(Math.Min(_p, 16 + (8 * Math.Max(n, 1))));
                    Bytes[off] ^= (byte)(1 << rng.Next(8));
                    Note($"freelist byte 0x{off:x} flipped");
                    break;
            }

            TouchedRelevant = true;
        }
    }
}
