namespace Talos.Recovery.Cli.CommandLine;

/// <summary>What <see cref="CliParser"/> found: the command to run, its option values and its positional arguments.</summary>
internal sealed class CliParseResult
{
    private readonly Dictionary<CliOption, List<string>> _values;

    internal CliParseResult(CliCommand command, Dictionary<CliOption, List<string>> values, IReadOnlyList<string> arguments, bool helpRequested)
    {
        Command = command;
        _values = values;
        Arguments = arguments;
        HelpRequested = helpRequested;
    }

    /// <summary>The deepest command named on the command line.</summary>
    public CliCommand Command { get; }

    /// <summary>Positional arguments, in order, already checked against the command's <see cref="CliCommand.Arguments"/>.</summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary><c>-h</c> or <c>--help</c> was given: show <see cref="Command"/>'s help instead of running it.</summary>
    public bool HelpRequested { get; }

    /// <summary>Whether the option was given on the command line.</summary>
    public bool IsSet(CliOption option) => _values.ContainsKey(option);

    /// <summary>The last value given for the option, or its default.</summary>
    public string? GetValue(CliOption option) =>
        _values.TryGetValue(option, out var values) ? values[^1] : option.DefaultValue;

    /// <summary>Every value given for a repeatable option, split at commas where the option asks for it.</summary>
    public IReadOnlyList<string> GetValues(CliOption option)
    {
        if (!_values.TryGetValue(option, out var values))
        {
            return option.DefaultValue is { } d ? [d] : [];
        }

        return option.SplitCommas
            ? values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList()
            : values;
    }

    /// <summary>Whether a boolean switch is on.</summary>
    public bool GetFlag(CliOption option) => GetValue(option) == "true";
}
