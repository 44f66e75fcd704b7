using Talos.Recovery.Cli;
using Talos.Recovery.Client;
using Talos.Recovery.Testing.Simulator;
using Talos.Recovery.Tests.Simulator;

namespace Talos.Recovery.Tests.Cli;

// The talosctl-shaped verbs, run in-process against one shared simulated cluster (3 control planes + 1 worker).
[NonParallelizable]
public sealed class CliTalosVerbsTests
{
    private TalosClusterSimulator _simulator = null!;
    private string _directory = null!;
    private string _talosconfig = null!;
    private string _reader = null!;

    [OneTimeSetUp]
    public async Task StartCluster()
    {
        _simulator = await SimulatorKit.StartAsync(new TalosSimulatorOptions { ControlPlanes = 3, Workers = 1 });
        _directory = TestFiles.CreateTemporaryDirectory();
        _talosconfig = _simulator.WriteTalosConfig(Path.Combine(_directory, "talosconfig"));
        _reader = _simulator.WriteTalosConfig(Path.Combine(_directory, "reader"), "os:reader");
    }

    [OneTimeTearDown]
    public async Task StopCluster()
    {
        await _simulator.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private string Cp1 => _simulator.ControlPlanes[0].Address;

    private string Worker => _simulator.Workers[0].Address;

    private Task<CliRun> Run(params string[] args) => CliRunner.RunAsync(["--talosconfig", _talosconfig, .. args]);

    private static void AssertNoStackTrace(CliRun run) =>
        Assert.That(run.Stderr, Does.Not.Contain(" at ").And.Not.Contain("Exception").And.Not.Contain(".cs:line"), run.ToString());

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Test]
    public async Task Etcd_members_fans_out_over_the_context_nodes_and_reports_the_worker_as_a_node_error()
    {
        var run = await Run("etcd", "members");
        var lines = Lines(run.Stdout);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Failure), run.ToString());
            Assert.That(lines[0], Does.Match("^NODE +ID +HOSTNAME +PEER URLS +CLIENT URLS +LEARNER$"));
            Assert.That(lines.Skip(1).ToArray(), Has.Length.EqualTo(9), run.ToString());
            Assert.That(lines[1], Does.Match($"^{Cp1.Replace(".", "\\.")} +[0-9a-f]{{16}} +\\S+ +\\S+ +\\S+ +false$"));
            Assert.That(Lines(run.Stderr), Has.Length.EqualTo(1));
            Assert.That(run.Stderr, Does.StartWith($"error: node {Worker}: "));
            AssertNoStackTrace(run);
        });
    }

    [Test]
    public async Task Etcd_status_prints_talosctls_columns_for_each_node()
    {
        var run = await Run("-n", $"{Cp1},{_simulator.ControlPlanes[1].Address}", "etcd", "status");
        var lines = Lines(run.Stdout);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
            Assert.That(lines[0], Does.Match("^NODE +MEMBER +DB SIZE +IN USE +LEADER +RAFT INDEX +RAFT TERM +RAFT APPLIED INDEX +LEARNER +ERRORS$"));
            Assert.That(lines, Has.Length.EqualTo(3));
            Assert.That(lines[1], Does.Match(@"^\S+ +[0-9a-f]{16} +[0-9.]+ [kM]?B +[0-9.]+ [kM]?B \([0-9.]+%\) +[0-9a-f]{16} +\d+ +\d+ +\d+ +false"));
        });
    }

    [Test]
    public async Task Service_etcd_prints_the_key_value_block_with_events_newest_first()
    {
        var run = await Run("-n", Cp1, "service", "etcd");
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
            Assert.That(run.Stdout, Does.Match($"^NODE +{Cp1.Replace(".", "\\.")}\nID +etcd\nSTATE +Running\nHEALTH +(OK|\\?)\n"));
            Assert.That(run.Stdout, Does.Match(@"\nEVENTS +\[Running\]: .* \(\d+(m\d+)?s ago\)\n"));
        });
    }

    [Test]
    public async Task Get_machinetype_lists_every_node_with_its_type()
    {
        var run = await Run("get", "machinetype");
        var lines = Lines(run.Stdout);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
            Assert.That(lines[0], Does.Match("^NODE +NAMESPACE +TYPE +ID +VERSION +TYPE$"));
            Assert.That(lines.Count(l => l.EndsWith(" controlplane", StringComparison.Ordinal)), Is.EqualTo(3));
            Assert.That(lines.Single(l => l.EndsWith(" worker", StringComparison.Ordinal)), Does.Match($"^{Worker.Replace(".", "\\.")} +config +MachineType +machine-type +"));
        });
    }

    [Test]
    public async Task Get_mc_yaml_prints_node_metadata_and_the_config_as_spec()
    {
        var run = await Run("-n", Cp1, "get", "mc", "v1alpha1", "-o", "yaml");
        var firstConfigLine = _simulator.ControlPlanes[0].MachineConfigYaml.ReplaceLineEndings("\n").Split('\n')[0];
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
            Assert.That(run.Stdout, Does.StartWith($"node: {Cp1}\nmetadata:\n    namespace: config\n    type: MachineConfigs.config.talos.dev\n    id: v1alpha1\nspec: |"));
            Assert.That(run.Stdout, Does.Contain("\n    " + firstConfigLine + "\n"));
        });
    }

    [Test]
    public async Task Single_node_commands_refuse_several_nodes_with_talosctls_message()
    {
        var snapshot = await Run("etcd", "snapshot", Path.Combine(_directory, "never.db"));
        var bootstrap = await Run("-n", $"{Cp1},{Worker}", "bootstrap");
        Assert.Multiple(() =>
        {
            Assert.That(snapshot.ExitCode, Is.EqualTo(ExitCodes.Usage), snapshot.ToString());
            Assert.That(snapshot.Stderr, Does.StartWith("Error: command \"etcd snapshot\" requires exactly one node (got 4)\n"));
            Assert.That(File.Exists(Path.Combine(_directory, "never.db")), Is.False);
            Assert.That(bootstrap.ExitCode, Is.EqualTo(ExitCodes.Usage));
            Assert.That(bootstrap.Stderr, Does.StartWith("Error: command \"bootstrap\" requires exactly one node (got 2)\n"));
        });
    }

    [Test]
    public async Task Etcd_snapshot_prints_talosctls_two_lines_and_the_file_verifies_with_the_same_status()
    {
        var path = Path.Combine(_directory, "talos.snapshot");
        var run = await Run("-n", Cp1, "etcd", "snapshot", path);
        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
        var lines = Lines(run.Stdout);
        var verify = await CliRunner.RunAsync("snapshot", "verify", path);
        Assert.Multiple(() =>
        {
            Assert.That(lines, Has.Length.EqualTo(2));
            Assert.That(lines[0], Is.EqualTo($"etcd snapshot saved to \"{path}\" ({new FileInfo(path).Length} bytes)"));
            Assert.That(lines[1], Does.Match("^snapshot info: hash [0-9a-f]{8}, revision \\d+, total keys \\d+, total size \\d+$"));
            Assert.That(verify.ExitCode, Is.EqualTo(ExitCodes.Success), verify.ToString());
            Assert.That(verify.Stdout, Does.Contain("status:           " + lines[1]["snapshot info: ".Length..]));
        });
    }

    [Test]
    public async Task Etcd_snapshot_help_explains_the_talos_and_the_etcd_forms()
    {
        var run = await CliRunner.RunAsync("etcd", "snapshot", "--help");
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success));
            Assert.That(run.Stdout, Does.Contain("Usage:\n  talos-recovery etcd snapshot FILE [flags]\n  talos-recovery etcd snapshot COMMAND [flags]\n"));
            Assert.That(run.Stdout, Does.Contain("etcd snapshot FILE ").And.Contain("etcd snapshot save FILE "));
        });
    }

    [Test]
    public async Task Cp_extracts_the_database_like_talosctl_and_refuses_to_overwrite()
    {
        var target = Path.Combine(_directory, "cp");
        var first = await Run("-n", Cp1, "cp", TalosClient.EtcdDatabasePath, target);
        var second = await Run("-n", Cp1, "cp", TalosClient.EtcdDatabasePath, target);
        Assert.Multiple(() =>
        {
            Assert.That(first.ExitCode, Is.EqualTo(ExitCodes.Success), first.ToString());
            Assert.That(new FileInfo(Path.Combine(target, "db")).Length, Is.GreaterThan(0).And.Matches<long>(l => l % 4096 == 0));
            Assert.That(second.ExitCode, Is.EqualTo(ExitCodes.Failure), second.ToString());
            Assert.That(Lines(second.Stderr), Has.Length.EqualTo(1));
            AssertNoStackTrace(second);
        });
    }

    [Test]
    public async Task Reset_with_a_reader_talosconfig_is_one_permission_denied_line_and_exit_1()
    {
        var run = await CliRunner.RunAsync("--talosconfig", _reader, "-n", Cp1, "reset", "--graceful=false", "--reboot", "--system-labels-to-wipe", "EPHEMERAL");
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Failure), run.ToString());
            Assert.That(run.Stdout, Is.Empty);
            Assert.That(Lines(run.Stderr), Has.Length.EqualTo(1));
            Assert.That(run.Stderr, Does.StartWith($"error: node {Cp1}: ").And.Contain("PermissionDenied").IgnoreCase.Or.Contain("permission").IgnoreCase);
            AssertNoStackTrace(run);
        });
    }

    [Test]
    public async Task An_unreachable_endpoint_is_a_clear_error()
    {
        var run = await Run("-e", "127.0.0.1:1", "-n", Cp1, "etcd", "members");
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Failure), run.ToString());
            Assert.That(run.Stderr, Does.StartWith($"error: node {Cp1}: ").And.Contain("127.0.0.1:1"));
            AssertNoStackTrace(run);
        });
    }

    [Test]
    public async Task Version_prints_the_client_and_every_nodes_server_version()
    {
        var run = await Run("version");
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
            Assert.That(Lines(run.Stdout)[0], Does.StartWith("talos-recovery "));
            Assert.That(Lines(run.Stdout).Count(l => l.StartsWith("\tNODE:", StringComparison.Ordinal)), Is.EqualTo(4));
            Assert.That(run.Stdout, Does.Contain("\tTag:         v"));
        });
    }
}

// bootstrap --recover-from on a wiped single node, and lab up; each on its own small cluster.
[NonParallelizable]
public sealed class CliTalosRecoveryTests
{
    [Test]
    public async Task Bootstrap_recover_from_restores_a_wiped_node()
    {
        await using var simulator = await SimulatorKit.StartAsync(new TalosSimulatorOptions { ControlPlanes = 1 });
        var directory = TestFiles.CreateTemporaryDirectory();
        try
        {
            var talosconfig = simulator.WriteTalosConfig(Path.Combine(directory, "talosconfig"));
            var node = simulator.Nodes[0];
            var snapshot = Path.Combine(directory, "db.snapshot");
            var save = await CliRunner.RunAsync("--talosconfig", talosconfig, "etcd", "snapshot", snapshot);
            Assert.That(save.ExitCode, Is.EqualTo(ExitCodes.Success), save.ToString());
            var info = Lines(save.Stdout)[1]["snapshot info: ".Length..];

            await node.LoseDataAsync();
            var run = await CliRunner.RunAsync("--talosconfig", talosconfig, "bootstrap", "--recover-from", snapshot);
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Success), run.ToString());
            Assert.That(run.Stdout, Is.EqualTo($"recovering from snapshot \"{snapshot}\": {info}\n"));

            var deadline = DateTime.UtcNow.AddSeconds(60);
            CliRun service;
            do
            {
                await Task.Delay(300);
                service = await CliRunner.RunAsync("--talosconfig", talosconfig, "service", "etcd");
            }
            while (!service.Stdout.Contains("\nSTATE    Running\n", StringComparison.Ordinal) && DateTime.UtcNow < deadline);

            Assert.That(service.Stdout, Does.Contain("\nSTATE    Running\n"), service.ToString());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public async Task Lab_up_writes_a_talosconfig_that_works_and_stops_every_etcd_on_interrupt()
    {
        EtcdRequirementGuard();
        var directory = TestFiles.CreateTemporaryDirectory();
        var lab = Path.Combine(directory, "lab");
        try
        {
            using var interrupt = new CancellationTokenSource();
            var up = CliRunner.RunAsync(CliApp.CreateRootCommand(), ["lab", "up", "--nodes", "1", "--workers", "1", "--dir", lab], debug: false, interrupt.Token);
            var talosconfig = Path.Combine(lab, "talosconfig");
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!File.Exists(talosconfig) && !up.IsCompleted && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            Assert.That(File.Exists(talosconfig), Is.True, up.IsCompleted ? up.Result.ToString() : "no talosconfig");
            await Task.Delay(500); // the file mode is set right after the atomic write
            var members = await CliRunner.RunAsync("--talosconfig", talosconfig, "etcd", "members");
            var etcdBefore = EtcdProcessesUnder(lab);

            await interrupt.CancelAsync();
            var run = await up;
            Assert.Multiple(() =>
            {
                Assert.That(members.Stdout, Does.Match("^NODE +ID +HOSTNAME +PEER URLS +CLIENT URLS +LEARNER\n\\S+ +[0-9a-f]{16} "), members.ToString()); // the worker answers with an error line
                Assert.That(etcdBefore, Is.Not.Empty, "the lab's etcd was not found running");
                Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.Interrupted), run.ToString());
                Assert.That(run.Stdout, Does.Contain($"talosconfig: {talosconfig}\n").And.Contain($"try: talos-recovery --talosconfig {talosconfig} etcd members\n"));
                Assert.That(EtcdProcessesUnder(lab), Is.Empty, "etcd processes left running");
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static void EtcdRequirementGuard() => Talos.Recovery.Tests.Integration.EtcdRequirement.Require();

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Process ids whose command line mentions <paramref name="directory"/> and runs etcd (Linux /proc).</summary>
    private static List<int> EtcdProcessesUnder(string directory)
    {
        var found = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var pid))
            {
                continue;
            }

            try
            {
                var commandLine = File.ReadAllText(Path.Combine(entry, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains("etcd", StringComparison.Ordinal) && commandLine.Contains(directory, StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return found;
    }
}
