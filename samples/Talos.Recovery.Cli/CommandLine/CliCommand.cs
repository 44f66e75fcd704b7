namespace Talos.Recovery.Cli.CommandLine;

/// <summary>Runs a command once its command line has been parsed; returns the process exit code.</summary>
internal delegate Task<int> CliHandler(CliInvocation invocation, CancellationToken cancellationToken);

/// <summary>
/// A node of the command tree: either a group of subcommands (<c>snapshot</c>) or a verb with a
/// <see cref="Handler"/> (<c>snapshot status</c>), with its own options and positional arguments. A verb with a
/// handler may also have subcommands (<c>etcd snapshot FILE</c> beside <c>etcd snapshot save FILE</c>): a first word
/// naming a subcommand selects it, any other word is an argument of the verb.
/// A command may define an option with the long name of an inherited one; its own then hides the inherited one.
/// </summary>
/// <example>
/// Adding a verb is declaring it and hanging it on its parent:
/// <code>
/// var members = new CliCommand("members", "List the etcd members of the nodes")
/// {
///     Handler = (invocation, ct) => ListMembersAsync(invocation, ct),
/// };
/// etcd.Add(members);
/// </code>
/// </example>
internal sealed class CliCommand
{
    private readonly List<CliCommand> _subcommands = [];
    private readonly List<CliOption> _options = [];
    private readonly List<CliArgument> _arguments = [];

    public CliCommand(string name, string summary)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(summary);
        Name = name;
        Summary = summary;
    }

    public string Name { get; }

    /// <summary>One line, shown in the parent's list of commands.</summary>
    public string Summary { get; }

    /// <summary>Paragraphs shown at the top of the command's own help; the summary when not set.</summary>
    public string? Description { get; init; }

    /// <summary>Example invocations shown in the help, one per line.</summary>
    public string? Examples { get; init; }

    /// <summary>What runs the command; <see langword="null"/> for a pure group.</summary>
    public CliHandler? Handler { get; init; }

    public CliCommand? Parent { get; private set; }

    public IReadOnlyList<CliCommand> Subcommands => _subcommands;

    public IReadOnlyList<CliOption> Options => _options;

    public IReadOnlyList<CliArgument> Arguments => _arguments;

    /// <summary>The words that invoke the command: <c>talos-recovery snapshot status</c>.</summary>
    public string CommandPath => Parent is null ? Name : Parent.CommandPath + " " + Name;

    /// <summary>Options inherited from the ancestors (closest first), which this command accepts too.</summary>
    public IEnumerable<CliOption> InheritedOptions
    {
        get
        {
            for (var ancestor = Parent; ancestor is not null; ancestor = ancestor.Parent)
            {
                foreach (var option in ancestor._options.Where(o => o.Inherited))
                {
                    // A command's own option of the same name hides the inherited one (drill --nodes COUNT).
                    if (!_options.Any(o => o.LongName == option.LongName))
                    {
                        yield return option;
                    }
                }
            }
        }
    }

    public CliCommand Add(CliCommand subcommand)
    {
        ArgumentNullException.ThrowIfNull(subcommand);
        if (subcommand.Parent is not null)
        {
            throw new InvalidOperationException($"'{subcommand.Name}' already belongs to '{subcommand.Parent.CommandPath}'.");
        }

        if (_subcommands.Any(c => c.Name == subcommand.Name))
        {
            throw new InvalidOperationException($"'{CommandPath}' already has a command '{subcommand.Name}'.");
        }

        if (_arguments.Count > 0 && Handler is null)
        {
            throw new InvalidOperationException($"'{CommandPath}' takes arguments and cannot also have subcommands.");
        }

        subcommand.Parent = this;
        _subcommands.Add(subcommand);
        return this;
    }

    public CliCommand Add(CliOption option)
    {
        ArgumentNullException.ThrowIfNull(option);
        if (option.LongName == "help" || option.ShortName == 'h')
        {
            throw new InvalidOperationException("--help and -h are built in.");
        }

        var clash = _options.Concat(InheritedOptions).FirstOrDefault(o => o.LongName == option.LongName || (option.ShortName is { } s && o.ShortName == s));
        if (clash is not null)
        {
            throw new InvalidOperationException($"'{CommandPath}': {option.DisplayName} clashes with {clash.DisplayName}.");
        }

        _options.Add(option);
        return this;
    }

    public CliCommand Add(CliArgument argument)
    {
        ArgumentNullException.ThrowIfNull(argument);
        if (_subcommands.Count > 0 && Handler is null)
        {
            throw new InvalidOperationException($"'{CommandPath}' has subcommands and cannot also take arguments.");
        }

        if (_arguments.Count > 0 && _arguments[^1].Arity != CliArity.One)
        {
            throw new InvalidOperationException($"'{CommandPath}': only the last argument may be optional or take many values.");
        }

        _arguments.Add(argument);
        return this;
    }

    public CliCommand? FindSubcommand(string name) => _subcommands.FirstOrDefault(c => c.Name == name);

    public CliOption? FindOption(string longName) =>
        _options.FirstOrDefault(o => o.LongName == longName) ?? InheritedOptions.FirstOrDefault(o => o.LongName == longName);

    public CliOption? FindOption(char shortName) =>
        _options.FirstOrDefault(o => o.ShortName == shortName) ?? InheritedOptions.FirstOrDefault(o => o.ShortName == shortName);
}
