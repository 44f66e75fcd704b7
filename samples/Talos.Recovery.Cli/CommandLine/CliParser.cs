namespace Talos.Recovery.Cli.CommandLine;

/// <summary>
/// Parses a command line against a <see cref="CliCommand"/> tree, with the conventions of Go's cobra/pflag that
/// talosctl and etcdctl users know:
/// <list type="bullet">
/// <item>words name subcommands until a command without subcommands is reached; the rest are its arguments;</item>
/// <item>options may appear anywhere after the command that defines them (or an ancestor, for inherited ones);</item>
/// <item><c>--name value</c>, <c>--name=value</c>, <c>-n value</c>, <c>-n=value</c>, <c>-nvalue</c>; boolean
/// switches take no value (<c>--skip-hash-check</c>, or <c>--skip-hash-check=false</c>) and may be grouped (<c>-ab</c>);</item>
/// <item><c>--</c> ends the options: every later word is an argument;</item>
/// <item><c>-h</c>/<c>--help</c> on any level asks for that command's help.</item>
/// </list>
/// Mistakes raise <see cref="CliUsageException"/> naming the deepest command resolved so far.
/// </summary>
internal static class CliParser
{
    public static CliParseResult Parse(CliCommand root, IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(args);

        var command = root;
        var values = new Dictionary<CliOption, List<string>>();
        var arguments = new List<string>();
        var help = false;
        var optionsEnded = false;

        try
        {
            for (var i = 0; i < args.Count; i++)
            {
                var token = args[i];
                if (!optionsEnded && token == "--")
                {
                    optionsEnded = true;
                }
                else if (!optionsEnded && token.StartsWith("--", StringComparison.Ordinal))
                {
                    help |= ParseLong(command, token, args, ref i, values);
                }
                else if (!optionsEnded && token.Length > 1 && token[0] == '-')
                {
                    help |= ParseShort(command, token, args, ref i, values);
                }
                else if (command.Subcommands.Count > 0 && !(command.Arguments.Count > 0 && (optionsEnded || arguments.Count > 0 || command.FindSubcommand(token) is null)))
                {
                    command = command.FindSubcommand(token)
                        ?? throw new CliUsageException($"unknown command \"{token}\" for \"{command.CommandPath}\"{Suggest(command, token)}", command);
                }
                else
                {
                    arguments.Add(token);
                }
            }
        }
        catch (CliUsageException) when (help || AsksForHelp(args))
        {
            // -h or --help anywhere: the user is asking how to write the command, so show the help of the deepest
            // command recognised rather than complain about the rest.
            help = true;
        }

        if (!help)
        {
            CheckArguments(command, arguments);
        }

        return new CliParseResult(command, values, arguments, help);
    }

    private static bool AsksForHelp(IReadOnlyList<string> args) =>
        args.TakeWhile(a => a != "--").Any(a => a is "-h" or "--help");

    private static bool ParseLong(CliCommand command, string token, IReadOnlyList<string> args, ref int i, Dictionary<CliOption, List<string>> values)
    {
        var equals = token.IndexOf('=', StringComparison.Ordinal);
        var name = equals < 0 ? token[2..] : token[2..equals];
        string? inlineValue = equals < 0 ? null : token[(equals + 1)..];
        if (name == "help")
        {
            return inlineValue is null || ParseBool(inlineValue, "--help", command);
        }

        if (name.Length == 0)
        {
            throw new CliUsageException($"bad flag syntax: {token}", command);
        }

        var option = command.FindOption(name) ?? throw new CliUsageException($"unknown flag: --{name}", command);
        Store(command, option, inlineValue, args, ref i, values, option.DisplayName);
        return false;
    }

    private static bool ParseShort(CliCommand command, string token, IReadOnlyList<string> args, ref int i, Dictionary<CliOption, List<string>> values)
    {
        var help = false;
        for (var k = 1; k < token.Length; k++)
        {
            var letter = token[k];
            var rest = token[(k + 1)..];
            if (letter == 'h')
            {
                help = true;
                if (rest.StartsWith('='))
                {
                    return ParseBool(rest[1..], "-h", command);
                }

                continue;
            }

            var option = command.FindOption(letter) ?? throw new CliUsageException($"unknown shorthand flag: '{letter}' in {token}", command);
            if (option.TakesValue)
            {
                // -wjson, -w=json or -w json: the rest of the word, if any, is the value.
                var inline = rest.Length == 0 ? null : rest.StartsWith('=') ? rest[1..] : rest;
                Store(command, option, inline, args, ref i, values, $"'{letter}' in {token}");
                return help;
            }

            if (rest.StartsWith('='))
            {
                Store(command, option, rest[1..], args, ref i, values, $"'{letter}' in {token}");
                return help;
            }

            Store(command, option, null, args, ref i, values, $"'{letter}' in {token}");
        }

        return help;
    }

    private static void Store(CliCommand command, CliOption option, string? inlineValue, IReadOnlyList<string> args, ref int i, Dictionary<CliOption, List<string>> values, string shownAs)
    {
        string value;
        if (!option.TakesValue)
        {
            value = inlineValue is null || ParseBool(inlineValue, option.DisplayName, command) ? "true" : "false";
        }
        else if (inlineValue is not null)
        {
            value = inlineValue;
        }
        else if (i + 1 < args.Count)
        {
            value = args[++i];
        }
        else
        {
            throw new CliUsageException($"flag needs an argument: {shownAs}", command);
        }

        if (!values.TryGetValue(option, out var list))
        {
            values[option] = list = [];
        }
        else if (!option.Repeatable)
        {
            list.Clear(); // last one wins, as with pflag
        }

        list.Add(value);
    }

    // strconv.ParseBool's spellings, which pflag accepts for --flag=value.
    private static bool ParseBool(string text, string flag, CliCommand command) => text switch
    {
        "1" or "t" or "T" or "true" or "TRUE" or "True" => true,
        "0" or "f" or "F" or "false" or "FALSE" or "False" => false,
        _ => throw new CliUsageException($"invalid argument \"{text}\" for \"{flag}\" flag: expected true or false", command),
    };

    private static void CheckArguments(CliCommand command, List<string> arguments)
    {
        if (command.Subcommands.Count > 0)
        {
            if (command.Handler is null)
            {
                var names = string.Join(", ", command.Subcommands.Select(c => c.Name));
                throw new CliUsageException($"\"{command.CommandPath}\" requires a command: {names}", command, showHelp: true);
            }

            if (command.Arguments.Count == 0)
            {
                return;
            }
        }

        var required = command.Arguments.Count(a => a.Arity == CliArity.One);
        var unbounded = command.Arguments.Any(a => a.Arity == CliArity.Many);
        var maximum = unbounded ? int.MaxValue : command.Arguments.Count;
        if (arguments.Count < required)
        {
            var missing = string.Join(" ", command.Arguments.Skip(arguments.Count).Where(a => a.Arity == CliArity.One).Select(a => a.Name));
            throw new CliUsageException($"\"{command.CommandPath}\" requires {missing}", command);
        }

        if (arguments.Count > maximum)
        {
            var expected = maximum == 0 ? "no arguments" : maximum == 1 ? "1 argument" : $"at most {maximum} arguments";
            throw new CliUsageException($"\"{command.CommandPath}\" takes {expected}, got {arguments.Count}: {string.Join(" ", arguments)}", command);
        }

        foreach (var (argument, value) in command.Arguments.Zip(arguments))
        {
            if (value.Length == 0)
            {
                throw new CliUsageException($"{argument.Name} must not be empty", command);
            }
        }
    }

    private static string Suggest(CliCommand command, string token)
    {
        var close = command.Subcommands.FirstOrDefault(c => c.Name.StartsWith(token, StringComparison.Ordinal) || EditDistance(c.Name, token) <= 2);
        return close is null ? string.Empty : $"; did you mean \"{close.Name}\"?";
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
