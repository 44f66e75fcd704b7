using Talos.Recovery.Cli.CommandLine;

namespace Talos.Recovery.Tests.Cli;

// The parser against a talosctl-shaped tree: inherited list flags (-n/--nodes, -e/--endpoints), string flags
// (--talosconfig, --context), nested groups, verbs with arguments.
public class CliParserTests
{
    private CliOption _nodes = null!;
    private CliOption _endpoints = null!;
    private CliOption _talosconfig = null!;
    private CliOption _writeOut = null!;
    private CliOption _skip = null!;
    private CliOption _quiet = null!;
    private CliCommand _root = null!;
    private CliCommand _etcd = null!;
    private CliCommand _snapshot = null!;
    private CliCommand _get = null!;

    [SetUp]
    public void CreateTree()
    {
        _nodes = new CliOption("nodes", 'n', "target nodes", "strings") { Repeatable = true, SplitCommas = true, Inherited = true };
        _endpoints = new CliOption("endpoints", 'e', "endpoints", "strings") { Repeatable = true, SplitCommas = true, Inherited = true };
        _talosconfig = new CliOption("talosconfig", null, "config file", "string") { Inherited = true, DefaultValue = "~/.talos/config" };
        _writeOut = new CliOption("write-out", 'w', "output format", "format") { DefaultValue = "simple" };
        _skip = new CliOption("skip-hash-check", 's', "skip the hash check");
        _quiet = new CliOption("quiet", 'q', "print less");

        _root = new CliCommand("tool", "A tool").Add(_nodes).Add(_endpoints).Add(_talosconfig).Add(new CliOption("context", null, "context", "string") { Inherited = true });
        _etcd = new CliCommand("etcd", "Manage etcd");
        _snapshot = new CliCommand("snapshot", "Stream a snapshot") { Handler = Ok, Examples = "tool etcd snapshot db.snapshot" };
        _snapshot.Add(new CliArgument("FILE", "where to write")).Add(_writeOut).Add(_skip).Add(_quiet);
        _etcd.Add(_snapshot).Add(new CliCommand("members", "List members") { Handler = Ok });
        _get = new CliCommand("get", "Get resources") { Handler = Ok };
        _get.Add(new CliArgument("TYPE", "resource type")).Add(new CliArgument("ID", "resource ids", CliArity.Many));
        _root.Add(_etcd).Add(_get);
    }

    private static Task<int> Ok(CliInvocation invocation, CancellationToken cancellationToken) => Task.FromResult(0);

    private CliParseResult Parse(params string[] args) => CliParser.Parse(_root, args);

    private CliUsageException ParseFails(params string[] args) =>
        Assert.Throws<CliUsageException>(() => Parse(args))!;

    [Test]
    public void Words_select_nested_commands_and_the_rest_are_arguments()
    {
        var result = Parse("etcd", "snapshot", "db.snapshot");
        Assert.Multiple(() =>
        {
            Assert.That(result.Command, Is.SameAs(_snapshot));
            Assert.That(result.Arguments, Is.EqualTo(new[] { "db.snapshot" }));
            Assert.That(result.HelpRequested, Is.False);
            Assert.That(result.GetValue(_writeOut), Is.EqualTo("simple"), "default");
            Assert.That(result.IsSet(_writeOut), Is.False);
        });
    }

    [TestCase("--write-out", "json")]
    [TestCase("--write-out=json")]
    [TestCase("-w", "json")]
    [TestCase("-w=json")]
    [TestCase("-wjson")]
    public void Every_spelling_of_a_value_option_is_accepted(params string[] option)
    {
        var result = Parse(["etcd", "snapshot", "db.snapshot", .. option]);
        Assert.That(result.GetValue(_writeOut), Is.EqualTo("json"));
    }

    [Test]
    public void Options_may_come_before_the_arguments()
    {
        var result = Parse("etcd", "snapshot", "-w", "table", "db.snapshot");
        Assert.Multiple(() =>
        {
            Assert.That(result.GetValue(_writeOut), Is.EqualTo("table"));
            Assert.That(result.Arguments, Is.EqualTo(new[] { "db.snapshot" }));
        });
    }

    [Test]
    public void A_value_option_takes_the_next_word_even_if_it_looks_like_a_flag()
    {
        Assert.That(Parse("etcd", "snapshot", "f", "--write-out", "-x").GetValue(_writeOut), Is.EqualTo("-x"));
    }

    [TestCase(new string[0], false)]
    [TestCase(new[] { "--skip-hash-check" }, true)]
    [TestCase(new[] { "-s" }, true)]
    [TestCase(new[] { "--skip-hash-check=false" }, false)]
    [TestCase(new[] { "--skip-hash-check=true" }, true)]
    [TestCase(new[] { "-s=0" }, false)]
    [TestCase(new[] { "-s", "--skip-hash-check=F" }, false)]
    public void Boolean_switches_take_no_value_but_accept_an_explicit_one(string[] option, bool expected)
    {
        Assert.That(Parse(["etcd", "snapshot", "f", .. option]).GetFlag(_skip), Is.EqualTo(expected));
    }

    [Test]
    public void Short_switches_can_be_grouped_and_end_with_a_value_option()
    {
        var result = Parse("etcd", "snapshot", "f", "-sqwjson");
        Assert.Multiple(() =>
        {
            Assert.That(result.GetFlag(_skip), Is.True);
            Assert.That(result.GetFlag(_quiet), Is.True);
            Assert.That(result.GetValue(_writeOut), Is.EqualTo("json"));
        });
    }

    [Test]
    public void A_boolean_switch_rejects_a_value_that_is_not_a_boolean()
    {
        Assert.That(ParseFails("etcd", "snapshot", "f", "--skip-hash-check=maybe").Message, Is.EqualTo("invalid argument \"maybe\" for \"--skip-hash-check\" flag: expected true or false"));
    }

    [Test]
    public void Inherited_options_are_accepted_on_every_level_and_repeated_values_accumulate()
    {
        var result = Parse("-n", "10.5.0.2", "etcd", "--nodes=10.5.0.3,10.5.0.4", "snapshot", "f", "-n", "10.5.0.5", "-e", "cp1", "--talosconfig", "/tmp/config");
        Assert.Multiple(() =>
        {
            Assert.That(result.GetValues(_nodes), Is.EqualTo(new[] { "10.5.0.2", "10.5.0.3", "10.5.0.4", "10.5.0.5" }));
            Assert.That(result.GetValues(_endpoints), Is.EqualTo(new[] { "cp1" }));
            Assert.That(result.GetValue(_talosconfig), Is.EqualTo("/tmp/config"));
        });
    }

    [Test]
    public void An_option_that_is_not_repeatable_keeps_the_last_value()
    {
        Assert.That(Parse("etcd", "snapshot", "f", "-w", "json", "-w", "table").GetValues(_writeOut), Is.EqualTo(new[] { "table" }));
    }

    [Test]
    public void An_option_not_given_has_its_default_or_nothing()
    {
        var result = Parse("etcd", "members");
        Assert.Multiple(() =>
        {
            Assert.That(result.GetValue(_talosconfig), Is.EqualTo("~/.talos/config"));
            Assert.That(result.GetValues(_nodes), Is.Empty);
        });
    }

    [Test]
    public void Double_dash_ends_the_options_and_a_lone_dash_is_an_argument()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Parse("etcd", "snapshot", "--", "-w").Arguments, Is.EqualTo(new[] { "-w" }));
            Assert.That(Parse("etcd", "snapshot", "-").Arguments, Is.EqualTo(new[] { "-" }));
        });
    }

    [Test]
    public void A_many_valued_argument_takes_the_remaining_words()
    {
        Assert.That(Parse("get", "members", "a", "b", "c").Arguments, Is.EqualTo(new[] { "members", "a", "b", "c" }));
    }

    [Test]
    public void An_unknown_long_flag_is_reported_with_the_command_it_was_given_to()
    {
        var error = ParseFails("etcd", "snapshot", "f", "--bogus");
        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Is.EqualTo("unknown flag: --bogus"));
            Assert.That(error.Command, Is.SameAs(_snapshot));
        });
    }

    [Test]
    public void An_unknown_short_flag_is_reported_as_pflag_does()
    {
        Assert.That(ParseFails("etcd", "snapshot", "f", "-sz").Message, Is.EqualTo("unknown shorthand flag: 'z' in -sz"));
    }

    [Test]
    public void A_local_option_is_unknown_before_the_command_that_defines_it()
    {
        Assert.That(ParseFails("etcd", "-w", "json", "snapshot", "f").Message, Is.EqualTo("unknown shorthand flag: 'w' in -w"));
    }

    [TestCase("--write-out", "flag needs an argument: --write-out")]
    [TestCase("-w", "flag needs an argument: 'w' in -w")]
    [TestCase("-sw", "flag needs an argument: 'w' in -sw")]
    public void A_value_option_at_the_end_misses_its_value(string option, string message)
    {
        Assert.That(ParseFails("etcd", "snapshot", "f", option).Message, Is.EqualTo(message));
    }

    [Test]
    public void An_unknown_command_is_named_with_a_suggestion()
    {
        var error = ParseFails("etcd", "snapshots", "f");
        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Is.EqualTo("unknown command \"snapshots\" for \"tool etcd\"; did you mean \"snapshot\"?"));
            Assert.That(error.Command, Is.SameAs(_etcd));
            Assert.That(error.ShowHelp, Is.False);
        });
    }

    [Test]
    public void An_unknown_command_without_a_close_name_has_no_suggestion()
    {
        Assert.That(ParseFails("frobnicate").Message, Is.EqualTo("unknown command \"frobnicate\" for \"tool\""));
    }

    [Test]
    public void A_group_without_a_command_asks_for_one_and_shows_its_help()
    {
        var error = ParseFails("etcd");
        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Is.EqualTo("\"tool etcd\" requires a command: snapshot, members"));
            Assert.That(error.ShowHelp, Is.True);
        });
    }

    [Test]
    public void Missing_and_extra_arguments_are_usage_errors()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ParseFails("etcd", "snapshot").Message, Is.EqualTo("\"tool etcd snapshot\" requires FILE"));
            Assert.That(ParseFails("etcd", "snapshot", "a", "b").Message, Is.EqualTo("\"tool etcd snapshot\" takes 1 argument, got 2: a b"));
            Assert.That(ParseFails("etcd", "members", "x").Message, Is.EqualTo("\"tool etcd members\" takes no arguments, got 1: x"));
            Assert.That(ParseFails("get").Message, Is.EqualTo("\"tool get\" requires TYPE"));
            Assert.That(ParseFails("etcd", "snapshot", "").Message, Is.EqualTo("FILE must not be empty"));
        });
    }

    [TestCase(new[] { "--help" }, "tool")]
    [TestCase(new[] { "-h" }, "tool")]
    [TestCase(new[] { "etcd", "--help" }, "tool etcd")]
    [TestCase(new[] { "etcd", "snapshot", "-h" }, "tool etcd snapshot")]
    [TestCase(new[] { "etcd", "snapshot", "--help=true" }, "tool etcd snapshot")]
    [TestCase(new[] { "etcd", "snapshot", "-sh" }, "tool etcd snapshot")]
    public void Help_is_available_on_every_level_without_the_required_arguments(string[] args, string commandPath)
    {
        var result = Parse(args);
        Assert.Multiple(() =>
        {
            Assert.That(result.HelpRequested, Is.True);
            Assert.That(result.Command.CommandPath, Is.EqualTo(commandPath));
        });
    }

    [TestCase("etcd", "snapshot", "--bogus", "--help")]
    [TestCase("etcd", "snapshot", "--help", "--bogus")]
    [TestCase("etcd", "snapshot", "a", "b", "c", "-h")]
    public void Help_wins_over_mistakes_on_the_same_line(params string[] args)
    {
        var result = Parse(args);
        Assert.Multiple(() =>
        {
            Assert.That(result.HelpRequested, Is.True);
            Assert.That(result.Command, Is.SameAs(_snapshot));
        });
    }

    [Test]
    public void Help_after_double_dash_is_an_argument()
    {
        var result = Parse("etcd", "snapshot", "--", "--help");
        Assert.Multiple(() =>
        {
            Assert.That(result.HelpRequested, Is.False);
            Assert.That(result.Arguments, Is.EqualTo(new[] { "--help" }));
        });
    }

    [Test]
    public void The_help_of_a_verb_shows_usage_arguments_flags_global_flags_and_examples()
    {
        var help = CliHelp.Render(_snapshot);
        Assert.Multiple(() =>
        {
            Assert.That(help, Does.StartWith("Stream a snapshot\n\nUsage:\n  tool etcd snapshot FILE [flags]\n"));
            Assert.That(help, Does.Contain("\nArguments:\n  FILE   where to write\n"));
            Assert.That(help, Does.Contain("  -w, --write-out format   output format (default \"simple\")\n"));
            Assert.That(help, Does.Contain("  -s, --skip-hash-check    skip the hash check\n"));
            Assert.That(help, Does.Contain("  -h, --help               help for snapshot\n"));
            Assert.That(help, Does.Contain("\nGlobal Flags:\n"));
            Assert.That(help, Does.Contain("  -n, --nodes strings        target nodes (repeatable, comma-separated)\n"));
            Assert.That(help, Does.Contain("      --talosconfig string   config file (default \"~/.talos/config\")\n"));
            Assert.That(help, Does.Contain("\nExamples:\n  tool etcd snapshot db.snapshot\n"));
        });
    }

    [Test]
    public void The_help_of_a_group_lists_its_commands()
    {
        var help = CliHelp.Render(_etcd);
        Assert.Multiple(() =>
        {
            Assert.That(help, Does.Contain("Usage:\n  tool etcd COMMAND [flags]\n"));
            Assert.That(help, Does.Contain("Commands:\n  snapshot   Stream a snapshot\n  members    List members\n"));
            Assert.That(help, Does.EndWith("Use \"tool etcd COMMAND --help\" for more information about a command.\n"));
        });
    }

    [Test]
    public void A_tree_with_clashing_or_misplaced_parts_is_refused_when_built()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => _snapshot.Add(new CliOption("help", null, "mine")), Throws.InvalidOperationException);
            Assert.That(() => _snapshot.Add(new CliOption("wide", 'w', "clash")), Throws.InvalidOperationException);
            Assert.That(() => _snapshot.Add(new CliOption("nodes", null, "clash with an inherited option")), Throws.InvalidOperationException);
            Assert.That(() => _etcd.Add(new CliCommand("members", "twice")), Throws.InvalidOperationException);
            Assert.That(() => _etcd.Add(new CliArgument("X", "groups take no arguments")), Throws.InvalidOperationException);
            Assert.That(() => new CliCommand("group", "a group").Add(new CliArgument("X", "x")).Add(new CliCommand("sub", "handler-less commands with arguments take no subcommands")), Throws.InvalidOperationException);
            Assert.That(() => _get.Add(new CliArgument("MORE", "after a many-valued argument")), Throws.InvalidOperationException);
            Assert.That(() => new CliOption("--dashed", null, "x"), Throws.ArgumentException);
        });
    }

    [Test]
    public void A_verb_with_subcommands_takes_its_argument_unless_the_first_word_names_a_subcommand()
    {
        var nodes = new CliOption("nodes", 'n', "targets", "strings") { Repeatable = true, SplitCommas = true, Inherited = true };
        var count = new CliOption("nodes", null, "a count", "n");
        var save = new CliCommand("save", "direct") { Handler = (_, _) => Task.FromResult(0) }.Add(new CliArgument("FILE", "file")).Add(count);
        var snapshot = new CliCommand("snapshot", "through Talos") { Handler = (_, _) => Task.FromResult(0) };
        snapshot.Add(save);
        snapshot.Add(new CliArgument("FILE", "file"));
        var root = new CliCommand("tool", "A tool").Add(nodes).Add(snapshot);

        var talos = CliParser.Parse(root, ["-n", "a,b", "snapshot", "db"]);
        var direct = CliParser.Parse(root, ["snapshot", "save", "db", "--nodes", "3"]);
        var literal = CliParser.Parse(root, ["snapshot", "--", "save"]);
        Assert.Multiple(() =>
        {
            Assert.That(talos.Command, Is.SameAs(snapshot));
            Assert.That(talos.Arguments, Is.EqualTo(new[] { "db" }));
            Assert.That(talos.GetValues(nodes), Is.EqualTo(new[] { "a", "b" }));
            Assert.That(direct.Command, Is.SameAs(save));
            Assert.That(direct.GetValue(count), Is.EqualTo("3"), "the verb's own --nodes hides the inherited one");
            Assert.That(save.InheritedOptions, Is.Empty);
            Assert.That(literal.Command, Is.SameAs(snapshot));
            Assert.That(literal.Arguments, Is.EqualTo(new[] { "save" }));
            Assert.That(() => CliParser.Parse(root, ["snapshot"]), Throws.TypeOf<CliUsageException>().With.Message.EqualTo("\"tool snapshot\" requires FILE"));
        });
    }
}
