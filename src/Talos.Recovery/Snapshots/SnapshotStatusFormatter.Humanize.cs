using System.Globalization;

namespace Talos.Recovery.Snapshots;

public static partial class SnapshotStatusFormatter
{
    private static readonly string[] SiUnits = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];

    // 1000^e for e = 0..6; each is exactly representable as a double, as Go's math.Pow(1000, e) returns it.
    private static readonly double[] PowersOf1000 = [1, 1e3, 1e6, 1e9, 1e12, 1e15, 1e18];

    // go-humanize picks the unit with e = floor(math.Log(s) / math.Log(1000)). With Go's amd64 math.Log that is the
    // exact floor(log1000(s)) except just below 1e15 and 1e18, where the rounded quotient reaches the integer:
    // 999999999999996..999999999999999 print "1.0 PB", and every s whose double is at least
    // 999999999999995136 prints "1.0 EB". ExponentThresholds[k - 1] is the smallest double (of an integer) for which
    // Go picks exponent k. Measured exhaustively around each power of 1000 and on 1e8 further sizes; a threshold
    // table keeps the result independent of the platform's libm.
    private static readonly double[] ExponentThresholds = [1e3, 1e6, 1e9, 1e12, 999_999_999_999_996d, 999_999_999_999_995_136d];

    /// <summary>
    /// Formats a byte count exactly as go-humanize's <c>Bytes</c> (SI units, base 1000) does, which is what etcdctl
    /// prints as a snapshot's size: <c>9 B</c>, <c>1.0 kB</c>, <c>8.2 kB</c>, <c>12 kB</c>, <c>1000 kB</c>, <c>1.1 GB</c>.
    /// </summary>
    /// <remarks>
    /// Reproduces Go's arithmetic and formatting, including its quirks: values are rounded to tenths with
    /// <c>floor(x × 10 + 0.5) / 10</c> in double precision; below 10 units one decimal is shown (<c>%.1f</c>), from 10
    /// units on none (<c>%.0f</c>), where a tie rounds half to even (12450 → <c>12 kB</c>, 13500 → <c>14 kB</c>); and
    /// 999999 stays <c>1000 kB</c> because the unit is chosen before rounding.
    /// </remarks>
    /// <param name="bytes">The size in bytes.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is negative.</exception>
    public static string HumanizeBytes(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        return HumanizeUnsigned((ulong)bytes);
    }

    /// <summary>go-humanize <c>Bytes(uint64)</c>; etcdctl passes <c>uint64(TotalSize)</c>.</summary>
    internal static string HumanizeUnsigned(ulong bytes)
    {
        if (bytes < 10)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{bytes} B");
        }

        double size = bytes; // round to nearest, as Go's float64(uint64)
        var exponent = 0;
        while (exponent < ExponentThresholds.Length && size >= ExponentThresholds[exponent])
        {
            exponent++;
        }

        // Same operations, same order as Go: floor(s / 1000^e * 10 + 0.5). The result is an integer in [10, 10000].
        var tenths = (long)Math.Floor(size / PowersOf1000[exponent] * 10 + 0.5);
        var whole = tenths / 10;
        var fraction = tenths % 10;
        var unit = SiUnits[exponent];

        // Go then prints val = tenths / 10 with %.1f when val < 10, else %.0f. Go formats the exact binary value and
        // rounds ties to even. A tenth that is not .5 is never a tie, and tenths / 10 with a fraction of 5 is an exact
        // double, so both cases reduce to integer arithmetic on the tenths, independent of .NET's number formatting.
        if (tenths < 100)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{whole}.{fraction} {unit}");
        }

        var rounded = fraction > 5 || (fraction == 5 && whole % 2 == 1) ? whole + 1 : whole;
        return string.Create(CultureInfo.InvariantCulture, $"{rounded} {unit}");
    }
}
