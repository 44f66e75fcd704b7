using System.Diagnostics;

namespace Talos.Recovery.Testing.Etcd;

/// <summary>
/// The <c>etcd</c> and <c>etcdctl</c> executables the harness runs. Found, in order, from an explicit path,
/// the environment variables <see cref="EtcdVariable"/> / <see cref="EtcdctlVariable"/>, the directories on
/// <c>PATH</c>, then <c>/usr/local/bin</c>, <c>/usr/bin</c> and <c>/bin</c>.
/// </summary>
/// <param name="EtcdPath">Full path of the etcd server executable.</param>
/// <param name="EtcdctlPath">Full path of the etcdctl executable.</param>
public sealed record EtcdBinaries(string EtcdPath, string EtcdctlPath)
{
    /// <summary>Environment variable overriding the etcd server executable: <c>TALOS_RECOVERY_ETCD</c>.</summary>
    public const string EtcdVariable = "TALOS_RECOVERY_ETCD";

    /// <summary>Environment variable overriding the etcdctl executable: <c>TALOS_RECOVERY_ETCDCTL</c>.</summary>
    public const string EtcdctlVariable = "TALOS_RECOVERY_ETCDCTL";

    /// <summary>
    /// Finds both executables.
    /// </summary>
    /// <param name="etcdPath">An explicit etcd path, or <see langword="null"/> to search.</param>
    /// <param name="etcdctlPath">An explicit etcdctl path, or <see langword="null"/> to search.</param>
    /// <exception cref="EtcdNotFoundException">Either is missing; the message says how to install them.</exception>
    public static EtcdBinaries Find(string? etcdPath = null, string? etcdctlPath = null)
        => new(FindOne("etcd", etcdPath, EtcdVariable), FindOne("etcdctl", etcdctlPath, EtcdctlVariable));

    /// <summary>Finds both executables, or returns <see langword="false"/> with the reason in <paramref name="error"/>.</summary>
    public static bool TryFind(out EtcdBinaries? binaries, out EtcdNotFoundException? error, string? etcdPath = null, string? etcdctlPath = null)
    {
        try
        {
            binaries = Find(etcdPath, etcdctlPath);
            error = null;
            return true;
        }
        catch (EtcdNotFoundException ex)
        {
            binaries = null;
            error = ex;
            return false;
        }
    }

    /// <summary>Finds only the etcdctl executable (for tools that never start a server).</summary>
    /// <exception cref="EtcdNotFoundException">It is missing.</exception>
    public static string FindEtcdctl(string? etcdctlPath = null) => FindOne("etcdctl", etcdctlPath, EtcdctlVariable);

    /// <summary>
    /// Runs <c>etcd --version</c> and returns the server version it prints (for example <c>3.4.23</c>).
    /// </summary>
    public async Task<string> GetEtcdVersionAsync(CancellationToken cancellationToken = default)
    {
        var startInfo = new ProcessStartInfo(EtcdPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add("--version");
        using var process = Process.Start(startInfo) ?? throw new EtcdHarnessException($"Could not start '{EtcdPath}'.");
        var output = await process.StandardOutput.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        const string Prefix = "etcd Version:";
        foreach (var line in output.Split('\n'))
        {
            if (line.StartsWith(Prefix, StringComparison.Ordinal))
            {
                return line[Prefix.Length..].Trim();
            }
        }

        throw new EtcdHarnessException($"'{EtcdPath} --version' printed no version: {output.Trim()}");
    }

    private static string FindOne(string name, string? explicitPath, string variable)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return ExecutableLocator.Find(explicitPath)
                ?? throw new EtcdNotFoundException(name, $"the configured path '{explicitPath}' is not an executable file");
        }

        var fromEnvironment = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return ExecutableLocator.Find(fromEnvironment)
                ?? throw new EtcdNotFoundException(name, $"{variable}='{fromEnvironment}' is not an executable file");
        }

        return ExecutableLocator.Find(name)
            ?? throw new EtcdNotFoundException(name, $"searched {variable}, PATH, /usr/local/bin, /usr/bin and /bin");
    }
}
