namespace Talos.Recovery.Cli.CommandLine;

/// <summary>
/// A flag of a command: a long name (<c>--write-out</c>), an optional one-letter short name (<c>-w</c>), and either a
/// value (<see cref="ValueName"/> set) or none (a boolean switch).
/// </summary>
internal sealed class CliOption
{
    /// <summary>Creates an option.</summary>
    /// <param name="longName">The name after <c>--</c>, lowercase words joined by dashes.</param>
    /// <param name="shortName">The letter after <c>-</c>, if any.</param>
    /// <param name="description">One line for the help.</param>
    /// <param name="valueName">How the help names the value (<c>string</c>, <c>format</c>); <see langword="null"/> for a boolean switch.</param>
    public CliOption(string longName, char? shortName, string description, string? valueName = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(longName);
        ArgumentException.ThrowIfNullOrWhiteSpace(description);
        if (longName.StartsWith('-') || longName.Contains('='))
        {
            throw new ArgumentException("A long name is given without dashes and cannot contain '='.", nameof(longName));
        }

        LongName = longName;
        ShortName = shortName;
        Description = description;
        ValueName = valueName;
    }

    public string LongName { get; }

    public char? ShortName { get; }

    public string Description { get; }

    public string? ValueName { get; }

    public bool TakesValue => ValueName is not null;

    /// <summary>The value when the option is not given; shown in the help.</summary>
    public string? DefaultValue { get; init; }

    /// <summary>
    /// Whether the option may be given several times, each value kept (<c>-n a -n b</c>); with
    /// <see cref="SplitCommas"/> each value is also split at commas (<c>-n a,b</c>), as talosctl's list flags are.
    /// A non-repeatable option given twice keeps the last value, as Go's pflag does.
    /// </summary>
    public bool Repeatable { get; init; }

    /// <summary>Whether each value is split at commas (only with <see cref="Repeatable"/>).</summary>
    public bool SplitCommas { get; init; }

    /// <summary>
    /// Whether subcommands inherit the option (cobra's persistent flags): defined once on a parent, accepted and listed
    /// under "Global Flags" on every command below it. For talosctl-style <c>--nodes</c>, <c>--talosconfig</c>.
    /// </summary>
    public bool Inherited { get; init; }

    /// <summary>How the option is written in help and messages: <c>--write-out</c>.</summary>
    public string DisplayName => "--" + LongName;
}
