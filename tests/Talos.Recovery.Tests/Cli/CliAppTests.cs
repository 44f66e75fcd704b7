using Talos.Recovery.Bolt;
using Talos.Recovery.Cli;
using Talos.Recovery.Cli.CommandLine;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Tests.Cli;

public class CliAppTests
{
    private string _directory = null!;

    [SetUp]
    public void CreateDirectory() => _directory = TestFiles.CreateTemporaryDirectory();

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    private static void AssertNoStackTrace(CliRun run)
    {
        Assert.That(run.Stderr, Does.Not.Contain(" at ").And.Not.Contain("Exception").And.Not.Contain(".cs:line"), run.ToString());
    }

    [TestCase("--help")]
    [TestCase("-h")]
    [TestCase("snapshot", "--help")]
    [TestCase("snapshot", "status", "--help")]
    [TestCase("snapshot", "verify", "-h")]
    [TestCase("snapshot", "inspect", "--help")]
    [TestCase("version", "--help")]
    public async Task Help_on_every_level_goes_to_stdout_with_exit_0(params string[] args)
    {
        var run = await CliRunner.RunAsync(args);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success));
            Assert.That(run.Stdout, Does.Contain("Usage:\n  talos-recovery"));
            Assert.That(run.Stderr, Is.Empty);
        });
    }

    [Test]
    public async Task Snapshot_status_help_documents_the_etcdctl_output_formats()
    {
        var run = await CliRunner.RunAsync("snapshot", "status", "-h");
        Assert.That(run.Stdout, Does.Contain("  -w, --write-out format   output format: simple, json, table or fields (default \"simple\")\n"));
    }

    [Test]
    public async Task No_command_is_a_usage_error_that_lists_the_commands()
    {
        var run = await CliRunner.RunAsync();
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Usage));
            Assert.That(run.Stdout, Is.Empty);
            Assert.That(run.Stderr, Does.StartWith("Error: \"talos-recovery\" requires a command: snapshot, etcd, drill, version\n"));
            Assert.That(run.Stderr, Does.Contain("Commands:\n  snapshot "));
        });
    }

    [Test]
    public async Task A_group_without_its_verb_is_a_usage_error()
    {
        var run = await CliRunner.RunAsync("snapshot");
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Usage));
            Assert.That(run.Stderr, Does.StartWith("Error: \"talos-recovery snapshot\" requires a command: status, verify, inspect\n"));
        });
    }

    [TestCase(new[] { "frobnicate" }, "Error: unknown command \"frobnicate\" for \"talos-recovery\"", "talos-recovery")]
    [TestCase(new[] { "snapshot", "stat", "x.db" }, "Error: unknown command \"stat\" for \"talos-recovery snapshot\"; did you mean \"status\"?", "talos-recovery snapshot")]
    [TestCase(new[] { "snapshot", "status" }, "Error: \"talos-recovery snapshot status\" requires FILE", "talos-recovery snapshot status")]
    [TestCase(new[] { "snapshot", "verify", "a.db", "b.db" }, "Error: \"talos-recovery snapshot verify\" takes 1 argument, got 2: a.db b.db", "talos-recovery snapshot verify")]
    [TestCase(new[] { "snapshot", "status", "x.db", "--bogus" }, "Error: unknown flag: --bogus", "talos-recovery snapshot status")]
    [TestCase(new[] { "snapshot", "status", "x.db", "-w" }, "Error: flag needs an argument: 'w' in -w", "talos-recovery snapshot status")]
    [TestCase(new[] { "snapshot", "status", "x.db", "-w", "protobuf" }, "Error: protobuf not supported as output format", "talos-recovery snapshot status")]
    [TestCase(new[] { "snapshot", "status", "x.db", "-w", "JSON" }, "Error: invalid value \"JSON\" for --write-out: use simple, json, table or fields", "talos-recovery snapshot status")]
    [TestCase(new[] { "snapshot", "verify", "x.db", "--write-out=table" }, "Error: invalid value \"table\" for --write-out: use text or json", "talos-recovery snapshot verify")]
    [TestCase(new[] { "snapshot", "inspect", "x.db", "-w", "yaml" }, "Error: invalid value \"yaml\" for --write-out: use table or json", "talos-recovery snapshot inspect")]
    [TestCase(new[] { "snapshot", "verify", "x.db", "--skip-hash-check=yes" }, "Error: invalid argument \"yes\" for \"--skip-hash-check\" flag: expected true or false", "talos-recovery snapshot verify")]
    [TestCase(new[] { "version", "extra" }, "Error: \"talos-recovery version\" takes no arguments, got 1: extra", "talos-recovery version")]
    public async Task Usage_errors_exit_2_with_the_message_and_a_pointer_to_the_help(string[] args, string message, string commandPath)
    {
        // The files named do not exist: a usage error is reported before anything is opened.
        var run = await CliRunner.RunAsync(args);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Usage), run.ToString());
            Assert.That(run.Stdout, Is.Empty);
            Assert.That(run.Stderr, Is.EqualTo($"{message}\nRun '{commandPath} --help' for usage.\n"));
        });
    }

    [Test]
    public async Task Version_prints_the_tool_sdk_and_runtime_versions()
    {
        var run = await CliRunner.RunAsync("version");
        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success));
            Assert.That(lines, Has.Length.EqualTo(3));
            Assert.That(lines[0], Does.StartWith("talos-recovery "));
            Assert.That(lines[1], Does.StartWith("Talos.Recovery "));
            Assert.That(lines[2], Does.StartWith(".NET "));
        });
    }

    private static IEnumerable<string[]> Verbs() => [["snapshot", "status"], ["snapshot", "verify"], ["snapshot", "inspect"], ["snapshot", "status", "-w", "json"]];

    [TestCaseSource(nameof(Verbs))]
    public async Task A_missing_file_is_one_error_line_and_exit_1(string[] verb)
    {
        var path = Path.Combine(_directory, "missing.db");
        var run = await CliRunner.RunAsync([.. verb, path]);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Failure));
            Assert.That(run.Stdout, Is.Empty);
            Assert.That(run.StderrLines, Has.Length.EqualTo(1));
            Assert.That(run.Stderr, Does.StartWith("Error: ").And.Contain(path).And.Contain("no such file"));
            AssertNoStackTrace(run);
        });
    }

    [TestCaseSource(nameof(Verbs))]
    public async Task An_empty_file_is_one_error_line_and_exit_1(string[] verb)
    {
        var path = Path.Combine(_directory, "empty.db");
        await File.WriteAllBytesAsync(path, []);
        var run = await CliRunner.RunAsync([.. verb, path]);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Failure));
            Assert.That(run.Stdout, Is.Empty);
            Assert.That(run.StderrLines, Has.Length.EqualTo(1));
            Assert.That(run.Stderr, Does.StartWith("Error: ").And.Contain(path).And.Contain("empty"));
            AssertNoStackTrace(run);
        });
    }

    [TestCaseSource(nameof(Verbs))]
    public async Task A_directory_is_one_error_line_and_exit_1(string[] verb)
    {
        var run = await CliRunner.RunAsync([.. verb, _directory]);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Failure));
            Assert.That(run.Stdout, Is.Empty);
            Assert.That(run.StderrLines, Has.Length.EqualTo(1));
            Assert.That(run.Stderr, Does.StartWith("Error: ").And.Contain(_directory).And.Contain("directory"));
            AssertNoStackTrace(run);
        });
    }

    [Test]
    public async Task A_cancelled_run_exits_130()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var run = await CliRunner.RunAsync(CliApp.CreateRootCommand(), ["version"], debug: false, cancelled.Token);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Interrupted));
            Assert.That(run.Stderr, Is.EqualTo("Error: interrupted\n"));
        });
    }

    [Test]
    public async Task An_interrupt_during_a_command_exits_130_at_once()
    {
        using var interrupt = new CancellationTokenSource();
        var started = new TaskCompletionSource();
        var root = Throwing(async (_, ct) =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return 0;
        });
        var running = CliRunner.RunAsync(root, ["run"], debug: false, interrupt.Token);
        await started.Task;
        await interrupt.CancelAsync();
        var run = await running.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Interrupted));
    }

    // A one-verb tree whose verb does what the test says: the seam to reach every error path without a real failure.
    private static CliCommand Throwing(CliHandler handler)
    {
        var root = new CliCommand(CliApp.Name, "test tree");
        root.Add(new CliCommand("run", "runs the handler") { Handler = handler });
        return root;
    }

    [Test]
    public async Task An_sdk_error_is_printed_as_its_message_with_exit_1()
    {
        var run = await CliRunner.RunAsync(Throwing((_, _) => throw new TalosRecoveryException("node 10.5.0.2: connection refused")), ["run"], debug: false, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Failure));
            Assert.That(run.Stderr, Is.EqualTo("Error: node 10.5.0.2: connection refused\n"));
        });
    }

    [Test]
    public async Task An_integrity_failure_lists_its_problems_one_per_line_as_etcdctl_does()
    {
        var problems = new[] { new BoltProblem(BoltProblemCode.AlreadyFreed, BoltProblemSeverity.Error, 4, 0x4000, "page 4: already freed") };
        var message = "snapshot file integrity check failed. 2 errors found." + Environment.NewLine + "page 4: already freed" + Environment.NewLine + "page 5: unreachable unfreed";
        var run = await CliRunner.RunAsync(Throwing((_, _) => throw new SnapshotIntegrityException(message, problems)), ["run"], debug: false, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Failure));
            Assert.That(run.Stderr, Is.EqualTo("Error: snapshot file integrity check failed. 2 errors found.\npage 4: already freed\npage 5: unreachable unfreed\n"));
        });
    }

    [Test]
    public async Task Control_characters_in_an_error_message_are_escaped()
    {
        var run = await CliRunner.RunAsync(Throwing((_, _) => throw new SnapshotFormatException("cannot get hash of bucket \u001b]0;pwned\u0007")), ["run"], debug: false, CancellationToken.None);
        Assert.That(run.Stderr, Is.EqualTo("Error: cannot get hash of bucket \\x1b]0;pwned\\x07\n"));
    }

    [Test]
    public async Task An_unexpected_exception_is_one_line_and_a_hint_without_stack_trace()
    {
        var run = await CliRunner.RunAsync(Throwing((_, _) => throw new InvalidOperationException("state is broken\nsecond line")), ["run"], debug: false, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Failure));
            Assert.That(run.StderrLines, Is.EqualTo(new[]
            {
                "Error: unexpected InvalidOperationException: state is broken",
                "Rerun with TALOS_RECOVERY_DEBUG=1 to see the stack trace, and please report it.",
            }));
        });
    }

    [Test]
    public async Task Debug_mode_adds_the_stack_trace()
    {
        var run = await CliRunner.RunAsync(Throwing((_, _) => throw new InvalidOperationException("state is broken")), ["run"], debug: true, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Failure));
            Assert.That(run.Stderr, Does.StartWith("Error: unexpected InvalidOperationException: state is broken\n"));
            Assert.That(run.Stderr, Does.Contain("System.InvalidOperationException: state is broken").And.Contain(" at "));
            Assert.That(run.Stderr, Does.Not.Contain("Rerun with"));
        });
    }

    [Test]
    public async Task A_usage_error_raised_by_a_handler_exits_2()
    {
        var root = Throwing((invocation, _) => throw new CliUsageException("--nodes is required", invocation.Command));
        var run = await CliRunner.RunAsync(root, ["run"], debug: false, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Usage));
            Assert.That(run.Stderr, Is.EqualTo("Error: --nodes is required\nRun 'talos-recovery run --help' for usage.\n"));
        });
    }

    [Test]
    public async Task The_public_entry_point_runs_the_real_command_tree()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await CliApp.RunAsync(["version"], stdout, stderr, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.EqualTo(ExitCodes.Success));
            Assert.That(stdout.ToString(), Does.StartWith("talos-recovery "));
        });
    }
}
