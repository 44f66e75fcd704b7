using Talos.Recovery.Client;

namespace Talos.Recovery.Tests.Client.Config;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class TalosConfigLookupTests
{
    private string _root = null!;
    private string _home = null!;
    private string _serviceAccount = null!;
    private Dictionary<string, string?> _environment = null!;

    [SetUp]
    public void SetUp()
    {
        _root = Directory.CreateTempSubdirectory("talos-recovery-talosconfig-").FullName;
        _home = Path.Combine(_root, "home");
        Directory.CreateDirectory(_home);
        _serviceAccount = Path.Combine(_root, "var", "run", "secrets", "talos.dev", "config");
        _environment = new Dictionary<string, string?>(StringComparer.Ordinal);
    }

    [TearDown]
    public void TearDown()
    {
        foreach (string directory in Directory.EnumerateDirectories(_root, "*", SearchOption.AllDirectories))
        {
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        Directory.Delete(_root, recursive: true);
    }

    private TalosConfigLocator Locator(string? home = null, bool noHome = false) =>
        new(name => _environment.GetValueOrDefault(name), noHome ? null : home ?? _home, _serviceAccount);

    private static string WriteConfig(string path, string contextName)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, $"context: {contextName}\ncontexts:\n    {contextName}:\n        endpoints:\n            - 10.5.0.2\n");
        return path;
    }

    private string HomeConfig => Path.Combine(_home, ".talos", "config");

    private string[] Snapshot() =>
        Directory.EnumerateFileSystemEntries(_root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();

    [Test]
    public void TALOSCONFIG_wins_over_the_home_directory_and_the_service_account()
    {
        string configured = WriteConfig(Path.Combine(_root, "custom.yaml"), "env");
        WriteConfig(HomeConfig, "home");
        WriteConfig(_serviceAccount, "sa");
        _environment["TALOSCONFIG"] = configured;

        TalosConfig config = TalosConfig.LoadDefault(Locator());

        Assert.That(config.CurrentContextName, Is.EqualTo("env"));
        Assert.That(config.SourcePath, Is.EqualTo(configured));
    }

    [Test]
    public void A_TALOSCONFIG_naming_a_missing_file_is_skipped_like_talosctl_does_and_nothing_is_created()
    {
        string missing = Path.Combine(_root, "missing", "config");
        WriteConfig(HomeConfig, "home");
        _environment["TALOSCONFIG"] = missing;

        TalosConfig config = TalosConfig.LoadDefault(Locator());

        Assert.That(config.SourcePath, Is.EqualTo(HomeConfig));
        Assert.That(Directory.Exists(Path.GetDirectoryName(missing)), Is.False);
    }

    [Test]
    public void An_empty_TALOSCONFIG_counts_as_unset()
    {
        WriteConfig(HomeConfig, "home");
        _environment["TALOSCONFIG"] = string.Empty;

        Assert.That(TalosConfig.LoadDefault(Locator()).CurrentContextName, Is.EqualTo("home"));
        Assert.That(Locator().GetCandidates().Select(c => c.Path), Is.EqualTo(new[] { HomeConfig, _serviceAccount }));
    }

    [Test]
    public void An_absolute_TALOS_HOME_replaces_the_home_directory()
    {
        string talosHome = Path.Combine(_root, "talos-home");
        WriteConfig(Path.Combine(talosHome, "config"), "talos-home");
        WriteConfig(HomeConfig, "home");
        _environment["TALOS_HOME"] = talosHome;

        Assert.That(TalosConfig.LoadDefault(Locator()).CurrentContextName, Is.EqualTo("talos-home"));
    }

    [Test]
    public void With_an_absolute_TALOS_HOME_the_home_directory_is_not_looked_at()
    {
        WriteConfig(HomeConfig, "home");
        WriteConfig(_serviceAccount, "sa");
        _environment["TALOS_HOME"] = Path.Combine(_root, "empty-talos-home");

        TalosConfig config = TalosConfig.LoadDefault(Locator());

        Assert.That(config.CurrentContextName, Is.EqualTo("sa"));
        Assert.That(Directory.Exists(Path.Combine(_root, "empty-talos-home")), Is.False);
    }

    [Test]
    public void A_relative_TALOS_HOME_is_ignored()
    {
        WriteConfig(HomeConfig, "home");
        _environment["TALOS_HOME"] = "relative/talos";

        Assert.That(TalosConfig.LoadDefault(Locator()).CurrentContextName, Is.EqualTo("home"));
    }

    [Test]
    public void The_service_account_config_is_the_last_resort()
    {
        WriteConfig(_serviceAccount, "sa");

        TalosConfig config = TalosConfig.LoadDefault(Locator());

        Assert.That(config.CurrentContextName, Is.EqualTo("sa"));
        Assert.That(config.SourcePath, Is.EqualTo(_serviceAccount));
    }

    [Test]
    public void Without_a_home_directory_the_service_account_config_is_found()
    {
        WriteConfig(_serviceAccount, "sa");

        Assert.That(TalosConfig.LoadDefault(Locator(noHome: true)).CurrentContextName, Is.EqualTo("sa"));
        Assert.That(Locator(noHome: true).GetCandidates().Select(c => c.Path), Is.EqualTo(new[] { _serviceAccount }));
    }

    [Test]
    public void The_candidates_are_in_talosctl_order_with_their_origin()
    {
        _environment["TALOSCONFIG"] = "/x/config";

        IReadOnlyList<TalosConfigCandidate> candidates = Locator().GetCandidates();

        Assert.That(candidates, Is.EqualTo(new[]
        {
            new TalosConfigCandidate("/x/config", "$TALOSCONFIG"),
            new TalosConfigCandidate(HomeConfig, "home directory"),
            new TalosConfigCandidate(_serviceAccount, "Talos service account"),
        }));
    }

    [Test]
    public void The_real_service_account_path_is_the_talos_one() =>
        Assert.That(TalosConfigLocator.ServiceAccountPath, Is.EqualTo("/var/run/secrets/talos.dev/config"));

    [Test]
    public void When_nothing_exists_the_error_lists_every_place_and_nothing_is_created()
    {
        string configured = Path.Combine(_root, "etc", "talosconfig");
        _environment["TALOSCONFIG"] = configured;
        string[] before = Snapshot();

        var error = Assert.Throws<TalosConfigNotFoundException>(() => TalosConfig.LoadDefault(Locator()))!;

        Assert.Multiple(() =>
        {
            Assert.That(error.SearchedPaths, Is.EqualTo(new[] { configured, HomeConfig, _serviceAccount }));
            Assert.That(error.Path, Is.Null);
            Assert.That(error.Message, Is.EqualTo(
                $"No talosconfig found; looked at {configured} ($TALOSCONFIG), {HomeConfig} (home directory), {_serviceAccount} (Talos service account). Set TALOSCONFIG to the file's path or pass the path explicitly. Nothing was created."));
            Assert.That(Snapshot(), Is.EqualTo(before));
            Assert.That(Directory.Exists(Path.Combine(_home, ".talos")), Is.False);
        });
    }

    [Test]
    public void The_not_found_message_says_when_TALOSCONFIG_is_not_set()
    {
        var error = Assert.Throws<TalosConfigNotFoundException>(() => TalosConfig.LoadDefault(Locator()))!;

        Assert.That(error.Message, Does.Contain("(Talos service account), and $TALOSCONFIG is not set."));
    }

    [Test]
    public void A_read_only_home_without_talos_directory_stays_untouched()
    {
        // talosctl fails here with "mkdir .../.talos: permission denied"; reading must not try to create anything.
        WriteConfig(_serviceAccount, "sa");
        File.SetUnixFileMode(_home, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        string[] before = Snapshot();

        TalosConfig config = TalosConfig.LoadDefault(Locator());

        Assert.That(config.CurrentContextName, Is.EqualTo("sa"));
        Assert.That(Snapshot(), Is.EqualTo(before));
        Assert.That(Directory.EnumerateFileSystemEntries(_home), Is.Empty);
    }

    [Test]
    public void Load_of_a_missing_file_throws_not_found_and_creates_nothing()
    {
        string missing = Path.Combine(_root, "nowhere", "config");

        var error = Assert.Throws<TalosConfigNotFoundException>(() => TalosConfig.Load(missing))!;

        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Is.EqualTo($"talosconfig '{missing}' does not exist."));
            Assert.That(error.Path, Is.EqualTo(missing));
            Assert.That(error.SearchedPaths, Is.EqualTo(new[] { missing }));
            Assert.That(error.InnerException, Is.InstanceOf<IOException>());
            Assert.That(Directory.Exists(Path.Combine(_root, "nowhere")), Is.False);
        });
    }

    [Test]
    public void Load_of_a_directory_says_so()
    {
        var error = Assert.Throws<TalosConfigException>(() => TalosConfig.Load(_home))!;

        Assert.That(error.Message, Is.EqualTo($"talosconfig '{_home}' is a directory, not a file."));
    }

    [Test]
    public void A_directory_at_the_home_config_path_is_found_and_reported_like_talosctl_stat_finds_it()
    {
        Directory.CreateDirectory(HomeConfig);
        WriteConfig(_serviceAccount, "sa");

        var error = Assert.Throws<TalosConfigException>(() => TalosConfig.LoadDefault(Locator()))!;

        Assert.That(error.Message, Does.Contain("is a directory"));
    }

    [Test]
    public void Load_of_a_file_that_is_not_utf8_is_refused()
    {
        string path = Path.Combine(_root, "binary");
        File.WriteAllBytes(path, [0x63, 0x3a, 0x20, 0xff, 0xfe, 0x0a]);

        var error = Assert.Throws<TalosConfigException>(() => TalosConfig.Load(path))!;

        Assert.That(error.Message, Is.EqualTo($"talosconfig '{path}' is not UTF-8 text; is it the right file?"));
    }

    [Test]
    public void Load_of_a_huge_file_is_refused_without_reading_it_all()
    {
        string path = Path.Combine(_root, "disk.img");
        using (FileStream stream = File.Create(path))
        {
            stream.SetLength(64L * 1024 * 1024);
        }

        var error = Assert.Throws<TalosConfigException>(() => TalosConfig.Load(path))!;

        Assert.That(error.Message, Is.EqualTo($"talosconfig '{path}' is larger than 16 MiB; it is not a talosconfig."));
    }

    [Test]
    public void Load_accepts_a_utf8_byte_order_mark_and_sets_the_source_path()
    {
        string path = Path.Combine(_root, "bom");
        File.WriteAllBytes(path, [0xef, 0xbb, 0xbf, .. "context: a\ncontexts:\n  a:\n    endpoints: [cp1]\n"u8]);

        TalosConfig config = TalosConfig.Load(path);

        Assert.That(config.CurrentContextName, Is.EqualTo("a"));
        Assert.That(config.SourcePath, Is.EqualTo(path));
    }

    [Test]
    public void Errors_in_a_loaded_file_name_the_file()
    {
        string path = Path.Combine(_root, "bad");
        File.WriteAllText(path, "context: x\ncontexts:\n  y:\n    endpoints: [cp1]\n");

        var error = Assert.Throws<TalosConfigException>(() => TalosConfig.Load(path).GetContext())!;

        Assert.That(error.Message, Does.StartWith($"talosconfig '{path}': context: default context \"x\" not found in config"));
        Assert.That(error.Path, Is.EqualTo(path));
    }

    [Test]
    public void Load_with_an_empty_path_is_an_argument_mistake() =>
        Assert.Throws<ArgumentException>(() => TalosConfig.Load(string.Empty));

    [Test]
    [NonParallelizable]
    public void LoadDefault_reads_TALOSCONFIG_from_the_process_environment()
    {
        string configured = WriteConfig(Path.Combine(_root, "process.yaml"), "process");
        string? previous = Environment.GetEnvironmentVariable("TALOSCONFIG");
        Environment.SetEnvironmentVariable("TALOSCONFIG", configured);
        try
        {
            Assert.That(TalosConfig.LoadDefault().SourcePath, Is.EqualTo(configured));
        }
        finally
        {
            Environment.SetEnvironmentVariable("TALOSCONFIG", previous);
        }
    }
}
