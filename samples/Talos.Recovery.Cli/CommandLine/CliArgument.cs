namespace Talos.Recovery.Cli.CommandLine;

/// <summary>How many values a positional argument takes.</summary>
internal enum CliArity
{
    /// <summary>Exactly one value.</summary>
    One,

    /// <summary>Zero or one value.</summary>
    Optional,

    /// <summary>Any number of values; only as the last argument.</summary>
    Many,
}

/// <summary>A positional argument of a command, for example <c>FILE</c>.</summary>
/// <param name="Name">Upper-case name shown in usage lines and messages.</param>
/// <param name="Description">One line for the help.</param>
/// <param name="Arity">How many values it takes.</param>
internal sealed record CliArgument(string Name, string Description, CliArity Arity = CliArity.One);
