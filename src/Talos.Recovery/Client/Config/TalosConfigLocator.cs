namespace Talos.Recovery.Client;

/// <summary>A place a talosconfig may be, and why it is looked at.</summary>
/// <param name="Path">The file path.</param>
/// <param name="Origin">Where the path comes from, for messages (<c>$TALOSCONFIG</c>, <c>$TALOS_HOME</c>, …).</param>
internal readonly record struct TalosConfigCandidate(string Path, string Origin);

/// <summary>
/// Finds the talosconfig the way talosctl does when no path is given, and only reads: the first existing of
/// <c>$TALOSCONFIG</c>; <c>$TALOS_HOME/config</c> when <c>TALOS_HOME</c> is absolute, otherwise
/// <c>~/.talos/config</c>; <c>/var/run/secrets/talos.dev/config</c>. Unlike talosctl, nothing is created when
/// nothing exists (talosctl's <c>mkdir /.talos: permission denied</c> in containers without a writable HOME).
/// The environment, home directory and service-account path are injectable for tests.
/// </summary>
internal sealed class TalosConfigLocator
{
    /// <summary>The environment variable naming a talosconfig file.</summary>
    public const string ConfigVariable = "TALOSCONFIG";

    /// <summary>The environment variable naming the Talos directory (used only when absolute).</summary>
    public const string TalosHomeVariable = "TALOS_HOME";

    /// <summary>Where Talos's Kubernetes service-account feature mounts a talosconfig into pods.</summary>
    public const string ServiceAccountPath = "/var/run/secrets/talos.dev/config";

    private const string TalosDirectoryName = ".talos";
    private const string ConfigFileName = "config";

    private readonly Func<string, string?> _getEnvironmentVariable;
    private readonly string? _homeDirectory;
    private readonly string _serviceAccountPath;

    /// <summary>Creates a locator over an explicit environment.</summary>
    /// <param name="getEnvironmentVariable">Returns a variable's value, <see langword="null"/> when unset.</param>
    /// <param name="homeDirectory">The user's home directory; <see langword="null"/> or empty when there is none.</param>
    /// <param name="serviceAccountPath">The service-account talosconfig path (tests point it into a temporary directory).</param>
    public TalosConfigLocator(Func<string, string?> getEnvironmentVariable, string? homeDirectory, string serviceAccountPath = ServiceAccountPath)
    {
        ArgumentNullException.ThrowIfNull(getEnvironmentVariable);
        ArgumentException.ThrowIfNullOrEmpty(serviceAccountPath);
        _getEnvironmentVariable = getEnvironmentVariable;
        _homeDirectory = string.IsNullOrEmpty(homeDirectory) ? null : homeDirectory;
        _serviceAccountPath = serviceAccountPath;
    }

    /// <summary>A locator over this process's environment and home directory.</summary>
    public static TalosConfigLocator FromEnvironment() =>
        new(Environment.GetEnvironmentVariable, Environment.GetFolderPath(Environment.SpecialFolder.UserProfile, Environment.SpecialFolderOption.DoNotVerify));

    /// <summary>The places to look, in order of precedence (a missing home directory contributes none).</summary>
    public IReadOnlyList<TalosConfigCandidate> GetCandidates()
    {
        var candidates = new List<TalosConfigCandidate>(3);
        if (_getEnvironmentVariable(ConfigVariable) is { Length: > 0 } configured)
        {
            candidates.Add(new TalosConfigCandidate(configured, "$" + ConfigVariable));
        }

        if (_getEnvironmentVariable(TalosHomeVariable) is { Length: > 0 } talosHome && Path.IsPathFullyQualified(talosHome))
        {
            candidates.Add(new TalosConfigCandidate(Path.Combine(talosHome, ConfigFileName), "$" + TalosHomeVariable));
        }
        else if (_homeDirectory is not null)
        {
            candidates.Add(new TalosConfigCandidate(Path.Combine(_homeDirectory, TalosDirectoryName, ConfigFileName), "home directory"));
        }

        candidates.Add(new TalosConfigCandidate(_serviceAccountPath, "Talos service account"));
        return candidates;
    }

    /// <summary>
    /// The first candidate that exists (file or directory, as Go's <c>os.Stat</c> tests it), or <see langword="null"/>.
    /// Only looks; never creates anything.
    /// </summary>
    public TalosConfigCandidate? FindExisting()
    {
        foreach (TalosConfigCandidate candidate in GetCandidates())
        {
            if (Path.Exists(candidate.Path))
            {
                return candidate;
            }
        }

        return null;
    }
}
