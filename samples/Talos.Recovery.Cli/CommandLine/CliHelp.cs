using System.Text;

namespace Talos.Recovery.Cli.CommandLine;

/// <summary>Writes a command's help in the layout of cobra (talosctl, kubectl): description, usage, commands, flags.</summary>
internal static class CliHelp
{
    public static string Render(CliCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var text = new StringBuilder();
        text.Append(command.Description ?? command.Summary).Append("\n\n");

        text.Append("Usage:\n  ").Append(UsageLine(command)).Append('\n');
        if (command.Subcommands.Count > 0 && command.Arguments.Count > 0)
        {
            text.Append("  ").Append(command.CommandPath).Append(" COMMAND [flags]\n");
        }

        if (command.Arguments.Count > 0)
        {
            text.Append("\nArguments:\n");
            var width = command.Arguments.Max(a => a.Name.Length);
            foreach (var argument in command.Arguments)
            {
                text.Append("  ").Append(argument.Name.PadRight(width)).Append("   ").Append(argument.Description).Append('\n');
            }
        }

        if (command.Subcommands.Count > 0)
        {
            text.Append("\nCommands:\n");
            var width = command.Subcommands.Max(c => c.Name.Length);
            foreach (var subcommand in command.Subcommands)
            {
                text.Append("  ").Append(subcommand.Name.PadRight(width)).Append("   ").Append(subcommand.Summary).Append('\n');
            }
        }

        var helpOption = new CliOption("help", 'h', "help for " + command.Name);
        AppendOptions(text, "Flags", [.. command.Options, helpOption]);
        AppendOptions(text, "Global Flags", [.. command.InheritedOptions]);

        if (command.Examples is { } examples)
        {
            text.Append("\nExamples:\n");
            foreach (var line in examples.Split('\n'))
            {
                text.Append("  ").Append(line).Append('\n');
            }
        }

        if (command.Subcommands.Count > 0)
        {
            text.Append("\nUse \"").Append(command.CommandPath).Append(" COMMAND --help\" for more information about a command.\n");
        }

        return text.ToString();
    }

    /// <summary><c>talos-recovery snapshot status FILE [flags]</c>.</summary>
    public static string UsageLine(CliCommand command)
    {
        var line = new StringBuilder(command.CommandPath);
        if (command.Subcommands.Count > 0 && command.Arguments.Count == 0)
        {
            line.Append(command.Handler is null ? " COMMAND" : " [COMMAND]");
        }

        foreach (var argument in command.Arguments)
        {
            line.Append(' ').Append(argument.Arity switch
            {
                CliArity.One => argument.Name,
                CliArity.Optional => $"[{argument.Name}]",
                _ => $"[{argument.Name}...]",
            });
        }

        return line.Append(" [flags]").ToString();
    }

    private static void AppendOptions(StringBuilder text, string title, IReadOnlyList<CliOption> options)
    {
        if (options.Count == 0)
        {
            return;
        }

        var names = options.Select(o => (o.ShortName is { } s ? $"-{s}, " : "    ") + o.DisplayName + (o.ValueName is { } v ? " " + v : string.Empty)).ToList();
        var width = names.Max(n => n.Length);
        text.Append('\n').Append(title).Append(":\n");
        for (var i = 0; i < options.Count; i++)
        {
            text.Append("  ").Append(names[i].PadRight(width)).Append("   ").Append(options[i].Description);
            if (options[i].DefaultValue is { } d && options[i].TakesValue)
            {
                text.Append(" (default \"").Append(d).Append("\")");
            }

            if (options[i].Repeatable)
            {
                text.Append(options[i].SplitCommas ? " (repeatable, comma-separated)" : " (repeatable)");
            }

            text.Append('\n');
        }
    }
}
