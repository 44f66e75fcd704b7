using System.Text;

namespace Talos.Recovery.Snapshots;

/// <summary>How <see cref="TextTable"/> aligns the cells of a column (headers are always centered).</summary>
internal enum TextTableAlignment
{
    Left,
    Right,
}

/// <summary>
/// A bordered text table in the look of olekukonko/tablewriter's defaults, which etcdctl and talosctl use:
/// <c>+---+</c> borders, one space of padding, upper-case headers centered (an odd gap puts the extra space on the
/// right), cells aligned per column. Cells must be single-line; widths are measured in UTF-16 code units, which is
/// exact for the ASCII that etcd's figures are made of.
/// </summary>
internal sealed class TextTable
{
    private readonly string[] _headers;
    private readonly TextTableAlignment[] _alignments;
    private readonly List<string[]> _rows = [];

    public TextTable(IReadOnlyList<string> headers, TextTableAlignment alignment)
        : this(headers, Enumerable.Repeat(alignment, headers.Count).ToArray())
    {
    }

    public TextTable(IReadOnlyList<string> headers, IReadOnlyList<TextTableAlignment> alignments)
    {
        if (headers.Count != alignments.Count)
        {
            throw new ArgumentException("Every column needs an alignment.", nameof(alignments));
        }

        _headers = headers.Select(h => h.ToUpperInvariant()).ToArray();
        _alignments = alignments.ToArray();
    }

    public void AddRow(params string[] cells)
    {
        if (cells.Length != _headers.Length)
        {
            throw new ArgumentException($"A row needs {_headers.Length} cells, got {cells.Length}.", nameof(cells));
        }

        _rows.Add(cells);
    }

    /// <summary>Appends the table, lines separated by <c>"\n"</c>, without a trailing line break.</summary>
    public void Render(StringBuilder output)
    {
        var widths = new int[_headers.Length];
        for (var c = 0; c < widths.Length; c++)
        {
            widths[c] = _headers[c].Length;
            foreach (var row in _rows)
            {
                widths[c] = Math.Max(widths[c], row[c].Length);
            }
        }

        AppendBorder(output, widths);
        output.Append('\n');
        output.Append('|');
        for (var c = 0; c < widths.Length; c++)
        {
            var gap = widths[c] - _headers[c].Length;
            var left = gap / 2;
            output.Append(' ').Append(' ', left).Append(_headers[c]).Append(' ', gap - left).Append(" |");
        }

        output.Append('\n');
        AppendBorder(output, widths);
        foreach (var row in _rows)
        {
            output.Append("\n|");
            for (var c = 0; c < widths.Length; c++)
            {
                var gap = widths[c] - row[c].Length;
                output.Append(' ');
                if (_alignments[c] == TextTableAlignment.Right)
                {
                    output.Append(' ', gap).Append(row[c]);
                }
                else
                {
                    output.Append(row[c]).Append(' ', gap);
                }

                output.Append(" |");
            }
        }

        output.Append('\n');
        AppendBorder(output, widths);
    }

    private static void AppendBorder(StringBuilder output, int[] widths)
    {
        output.Append('+');
        foreach (var width in widths)
        {
            output.Append('-', width + 2).Append('+');
        }
    }
}
