namespace Talos.Recovery.Cli.CommandLine;

/// <summary>What a <see cref="CliHandler"/> gets: the parsed command line and the two output streams.</summary>
internal sealed class CliInvocation
{
    public CliInvocation(CliParseResult parseResult, TextWriter output, TextWriter error)
    {
        ParseResult = parseResult;
        Output = output;
        Error = error;
    }

    public CliParseResult ParseResult { get; }

    public CliCommand Command => ParseResult.Command;

    public IReadOnlyList<string> Arguments => ParseResult.Arguments;

    /// <summary>Standard output: the result, for pipes and scripts.</summary>
    public TextWriter Output { get; }

    /// <summary>Standard error: diagnostics.</summary>
    public TextWriter Error { get; }

    /// <summary>Writes text and a <c>"\n"</c> to standard output (the same bytes on every platform, as etcdctl).</summary>
    public void WriteLine(string text) => Output.Write(text + "\n");

    /// <summary>Writes text and a <c>"\n"</c> to standard error.</summary>
    public void WriteErrorLine(string text) => Error.Write(text + "\n");

    /// <summary>
    /// Maps an option's value to one of <paramref name="choices"/> (matched exactly, as etcdctl does), or fails
    /// with a usage error listing them.
    /// </summary>
    public T GetChoice<T>(CliOption option, params ReadOnlySpan<(string Name, T Value)> choices)
    {
        var value = ParseResult.GetValue(option) ?? string.Empty;
        var names = new List<string>(choices.Length);
        foreach (var (name, choice) in choices)
        {
            if (name == value)
            {
                return choice;
            }

            names.Add(name);
        }

        throw new CliUsageException($"invalid value \"{value}\" for {option.DisplayName}: use {Or(names)}", Command);
    }

    private static string Or(List<string> list)
    {
        return list.Count == 1 ? list[0] : string.Join(", ", list.Take(list.Count - 1)) + " or " + list[^1];
    }
}
