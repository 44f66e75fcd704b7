using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Talos.Recovery.Testing.Etcd;

/// <summary>The outcome of one <c>etcdctl</c> run.</summary>
/// <param name="Arguments">The arguments etcdctl was given (global flags included, password masked).</param>
/// <param name="ExitCode">The exit code; -1 when the run timed out and was killed.</param>
/// <param name="StandardOutput">Everything etcdctl wrote to standard output.</param>
/// <param name="StandardError">Everything etcdctl wrote to standard error (etcd 3.4 logs there).</param>
/// <param name="Elapsed">How long the run took.</param>
/// <param name="TimedOut">Whether the run exceeded <see cref="Etcdctl.Timeout"/> and was killed.</param>
public sealed record EtcdctlResult(IReadOnlyList<string> Arguments, int ExitCode, string StandardOutput, string StandardError, TimeSpan Elapsed, bool TimedOut)
{
    /// <summary>Exit code 0 and no timeout.</summary>
    public bool Succeeded => ExitCode == 0 && !TimedOut;

    /// <summary>The command line, for messages: <c>etcdctl snapshot status -w json x.db</c>.</summary>
    public string CommandLine => "etcdctl " + string.Join(' ', Arguments.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a));

    /// <inheritdoc />
    public override string ToString()
        => TimedOut
            ? string.Create(CultureInfo.InvariantCulture, $"{CommandLine}: timed out after {Elapsed.TotalSeconds:0.#} s")
            : $"{CommandLine}: exit {ExitCode}{Environment.NewLine}{StandardOutput}{StandardError}".TrimEnd();
}

/// <summary>What <c>etcdctl snapshot status -w json</c> printed (etcd 3.4/3.5 fields).</summary>
/// <param name="Hash">CRC-32C over the buckets (<c>hash</c>).</param>
/// <param name="Revision">The last revision in the <c>key</c> bucket (<c>revision</c>).</param>
/// <param name="TotalKey">Entries in all top-level buckets (<c>totalKey</c>).</param>
/// <param name="TotalSize">High-water mark × page size (<c>totalSize</c>).</param>
/// <param name="Json">The JSON line as printed.</param>
public sealed record EtcdctlSnapshotStatus(uint Hash, long Revision, long TotalKey, long TotalSize, string Json);

/// <summary>Options for <see cref="Etcdctl.SnapshotRestoreAsync"/> (flags of <c>etcdctl snapshot restore</c>).</summary>
public sealed class EtcdctlRestoreOptions
{
    /// <summary><c>--data-dir</c>: where to create the restored data directory; must not exist. Required.</summary>
    public required string DataDirectory { get; init; }

    /// <summary><c>--name</c>. Default: <see langword="null"/>, etcdctl's default (<c>default</c>).</summary>
    public string? Name { get; init; }

    /// <summary><c>--initial-cluster</c>, e.g. <c>m0=http://127.0.0.1:23801</c>. Default: <see langword="null"/>, etcdctl's default.</summary>
    public string? InitialCluster { get; init; }

    /// <summary><c>--initial-cluster-token</c>. Default: <see langword="null"/>, etcdctl's default (<c>etcd-cluster</c>).</summary>
    public string? InitialClusterToken { get; init; }

    /// <summary><c>--initial-advertise-peer-urls</c>. Default: <see langword="null"/>, etcdctl's default.</summary>
    public string? InitialAdvertisePeerUrls { get; init; }

    /// <summary><c>--skip-hash-check</c>: required for files without a SHA-256 trailer. Default: <see langword="false"/>.</summary>
    public bool SkipHashCheck { get; init; }
}

/// <summary>
/// Runs the real <c>etcdctl</c> (API v3) with a timeout and captures its exit code and output. The helpers cover
/// what the project compares against: <c>snapshot save</c>, <c>snapshot status -w json</c> and <c>snapshot restore</c>.
/// Thread-safe; methods are virtual so tests can fake them.
/// </summary>
/// <remarks>
/// Inherited <c>ETCDCTL_*</c> variables are removed from etcdctl's environment and <c>ETCDCTL_API=3</c> is set, so
/// only the flags given here apply. Beware: <c>etcdctl snapshot status</c> on the <c>member/snap/db</c> of a running
/// etcd waits for etcd's file lock forever; <see cref="Timeout"/> is what ends it.
/// </remarks>
public class Etcdctl
{
    /// <summary>Creates a wrapper for the etcdctl found by <see cref="EtcdBinaries.FindEtcdctl"/>, or at <paramref name="executablePath"/>.</summary>
    /// <exception cref="EtcdNotFoundException">etcdctl is not installed.</exception>
    public Etcdctl(string? executablePath = null)
    {
        ExecutablePath = EtcdBinaries.FindEtcdctl(executablePath);
    }

    /// <summary>The etcdctl executable.</summary>
    public string ExecutablePath { get; }

    /// <summary><c>--endpoints</c> (comma-separated, e.g. <c>127.0.0.1:2379,127.0.0.1:2381</c>). Default: <see langword="null"/>, not passed.</summary>
    public string? Endpoints { get; init; }

    /// <summary>The user for <c>--user</c>. Default: <see langword="null"/>, not passed.</summary>
    public string? Username { get; init; }

    /// <summary>The password of <see cref="Username"/>. Default: <see langword="null"/>.</summary>
    public string? Password { get; init; }

    /// <summary>How long one run may take before it is killed. Default: 2 minutes.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Further environment variables for etcdctl. Default: empty.</summary>
    public IDictionary<string, string> Environment { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// Start etcdctl through <c>setpriv --pdeathsig KILL</c> when available, so it dies with the host.
    /// Default: <see langword="true"/>.
    /// </summary>
    public bool UseParentDeathSignal { get; init; } = true;

    /// <summary>
    /// Runs etcdctl with the global flags (<see cref="Endpoints"/>, <see cref="Username"/>) and then
    /// <paramref name="arguments"/>. Never throws for a failing command: inspect <see cref="EtcdctlResult.Succeeded"/>.
    /// </summary>
    public virtual async Task<EtcdctlResult> RunAsync(IEnumerable<string> arguments, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var all = new List<string>();
        var shown = new List<string>();
        if (!string.IsNullOrEmpty(Endpoints))
        {
            all.Add("--endpoints=" + Endpoints);
            shown.Add("--endpoints=" + Endpoints);
        }

        if (!string.IsNullOrEmpty(Username))
        {
            all.Add("--user=" + Username + ":" + (Password ?? string.Empty));
            shown.Add("--user=" + Username + ":***");
        }

        foreach (var argument in arguments)
        {
            all.Add(argument);
            shown.Add(argument);
        }

        var startInfo = new ProcessStartInfo(ExecutablePath)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in all)
        {
            startInfo.ArgumentList.Add(argument);
        }

        EtcdProcess.RemoveEtcdVariables(startInfo, "ETCDCTL_");
        startInfo.Environment["ETCDCTL_API"] = "3";
        foreach (var (name, value) in Environment)
        {
            startInfo.Environment[name] = value;
        }

        var stopwatch = Stopwatch.StartNew();
        using var process = await ChildProcesses.StartAsync(startInfo, UseParentDeathSignal, cancellationToken).ConfigureAwait(false);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Timeout);
            var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            var timedOut = false;
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                ChildProcesses.KillQuietly(process);
                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                timedOut = true;
            }

            var output = await stdout.ConfigureAwait(false);
            var error = await stderr.ConfigureAwait(false);
            return new EtcdctlResult(shown, timedOut ? -1 : process.ExitCode, output, error, stopwatch.Elapsed, timedOut);
        }
        finally
        {
            ChildProcesses.KillQuietly(process);
            ChildProcesses.Untrack(process);
        }
    }

    /// <summary>Runs etcdctl like <see cref="RunAsync"/> and throws <see cref="EtcdctlException"/> unless it succeeds.</summary>
    public virtual async Task<EtcdctlResult> RunCheckedAsync(IEnumerable<string> arguments, CancellationToken cancellationToken = default)
    {
        var result = await RunAsync(arguments, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new EtcdctlException($"etcdctl failed: {result}", result);
        }

        return result;
    }

    /// <summary>
    /// <c>etcdctl snapshot save PATH</c> from the first of <see cref="Endpoints"/>: streams a snapshot (with its SHA-256
    /// trailer) into <paramref name="path"/>. Throws <see cref="EtcdctlException"/> on failure.
    /// </summary>
    public virtual Task<EtcdctlResult> SnapshotSaveAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);

        // etcdctl refuses 'snapshot save' with more than one endpoint.
        var first = Endpoints?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        var runner = first is not null && first != Endpoints ? WithEndpoints(first) : this;
        return runner.RunCheckedAsync(["snapshot", "save", path], cancellationToken);
    }

    /// <summary>
    /// <c>etcdctl snapshot status -w json PATH</c>, parsed. Throws <see cref="EtcdctlException"/> when etcdctl fails
    /// (damaged file, missing file, timeout) or prints no JSON.
    /// </summary>
    public virtual async Task<EtcdctlSnapshotStatus> SnapshotStatusJsonAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var result = await RunCheckedAsync(["snapshot", "status", "-w", "json", path], cancellationToken).ConfigureAwait(false);
        var line = result.StandardOutput.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith('{'))
            ?? throw new EtcdctlException($"etcdctl printed no JSON status: {result}", result);
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            return new EtcdctlSnapshotStatus(
                root.GetProperty("hash").GetUInt32(),
                root.GetProperty("revision").GetInt64(),
                root.GetProperty("totalKey").GetInt64(),
                root.GetProperty("totalSize").GetInt64(),
                line);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or FormatException or InvalidOperationException)
        {
            throw new EtcdctlException($"etcdctl printed a status that does not parse ({ex.Message}): {result}", result);
        }
    }

    /// <summary>
    /// <c>etcdctl snapshot restore SNAPSHOT --data-dir …</c>. Throws <see cref="EtcdctlException"/> on failure.
    /// </summary>
    public virtual Task<EtcdctlResult> SnapshotRestoreAsync(string snapshotPath, EtcdctlRestoreOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(snapshotPath);
        ArgumentNullException.ThrowIfNull(options);
        var arguments = new List<string> { "snapshot", "restore", snapshotPath, "--data-dir=" + options.DataDirectory };
        if (options.Name is not null)
        {
            arguments.Add("--name=" + options.Name);
        }

        if (options.InitialCluster is not null)
        {
            arguments.Add("--initial-cluster=" + options.InitialCluster);
        }

        if (options.InitialClusterToken is not null)
        {
            arguments.Add("--initial-cluster-token=" + options.InitialClusterToken);
        }

        if (options.InitialAdvertisePeerUrls is not null)
        {
            arguments.Add("--initial-advertise-peer-urls=" + options.InitialAdvertisePeerUrls);
        }

        if (options.SkipHashCheck)
        {
            arguments.Add("--skip-hash-check=true");
        }

        return RunCheckedAsync(arguments, cancellationToken);
    }

    /// <summary>A copy of this wrapper with other endpoints (same executable, credentials, timeout and environment).</summary>
    public Etcdctl WithEndpoints(string? endpoints)
    {
        var copy = new Etcdctl(ExecutablePath)
        {
            Endpoints = endpoints,
            Username = Username,
            Password = Password,
            Timeout = Timeout,
            UseParentDeathSignal = UseParentDeathSignal,
        };
        foreach (var (name, value) in Environment)
        {
            copy.Environment[name] = value;
        }

        return copy;
    }

    /// <summary>The value of <c>--endpoints</c> for a list of members.</summary>
    public static string FormatEndpoints(IEnumerable<EtcdProcess> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        return string.Join(',', members.Select(m => m.Endpoint));
    }
}
