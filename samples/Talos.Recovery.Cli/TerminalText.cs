using System.Globalization;
using System.Text;

namespace Talos.Recovery.Cli;

/// <summary>Makes text safe to print on a terminal.</summary>
internal static class TerminalText
{
    /// <summary>
    /// Escapes control characters as <c>\xNN</c> and invisible format characters (bidirectional overrides) as
    /// <c>\uNNNN</c>: error messages can quote bytes from a damaged or crafted file, and must not drive the terminal.
    /// </summary>
    public static string Escape(string text)
    {
        if (!text.Any(NeedsEscape))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (!NeedsEscape(c))
            {
                builder.Append(c);
            }
            else if (char.IsControl(c))
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            }
            else
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
        }

        return builder.ToString();
    }

    private static bool NeedsEscape(char c) => char.IsControl(c) || char.GetUnicodeCategory(c) == UnicodeCategory.Format;
}
