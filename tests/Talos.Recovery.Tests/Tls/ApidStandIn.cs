using System.Diagnostics;
using System.Security.Cryptography;
using Talos.Recovery.Testing.Certificates;
using Talos.Recovery.Tests.Integration;

namespace Talos.Recovery.Tests.Tls;

/// <summary>
/// The Go apid stand-in (<c>tests/ApidStandIn/main.go</c>): an independent TLS peer with apid's exact crypto/tls
/// settings, built with the machine's Go toolchain the first time a test needs it (cached by source hash under the
/// temp directory, with its own GOCACHE) and run on a loopback port it picks itself.
/// </summary>
/// <remarks>
/// Needs <c>go</c> (Debian <c>golang-go</c>) and golang.org/x/net (Debian <c>golang-golang-x-net-dev</c>, used in
/// GOPATH mode from <c>/usr/share/gocode</c>); <c>scripts/prerequisites.sh</c> installs both. Without them the tests
/// are ignored on a developer machine and fail under <c>CI=true</c>. <c>TALOS_RECOVERY_GO</c> and
/// <c>TALOS_RECOVERY_GOPATH</c> override the toolchain and GOPATH.
/// </remarks>
internal sealed class ApidStandIn : IAsyncDisposable
{
    private static readonly Lazy<Task<string>> Binary = new(BuildAsync);

    private readonly Process _process;
    private readonly string _directory;
    private readonly StringWriter _stderr;

    private ApidStandIn(Process process, string directory, StringWriter stderr, int port)
    {
        _process = process;
        _directory = directory;
        _stderr = stderr;
        Port = port;
    }

    public int Port { get; }

    /// <summary>What the stand-in wrote on stderr (one line per refused handshake).</summary>
    public string Errors
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Waits until the stand-in has logged a line containing <paramref name="text"/> (stderr is read asynchronously).</summary>
    public async Task<string> WaitForErrorAsync(string text)
    {
        for (int attempt = 0; attempt < 50 && !Errors.Contains(text, StringComparison.Ordinal); attempt++)
        {
            await Task.Delay(100);
        }

        return Errors;
    }

    /// <summary>Builds the stand-in if needed (or fails/ignores the test when Go is missing) and starts it.</summary>
    public static async Task<ApidStandIn> StartAsync(TalosCertificate serverCertificate, TalosCertificateAuthority clientCa, Uri? backend = null)
    {
        string binary = await RequireBinaryAsync();
        string directory = Directory.CreateTempSubdirectory("apid-standin-").FullName;
        string certificate = Path.Combine(directory, "server.crt");
        string key = Path.Combine(directory, "server.key");
        string ca = Path.Combine(directory, "ca.crt");
        serverCertificate.WritePemFiles(certificate, key);
        await File.WriteAllBytesAsync(ca, clientCa.CertificatePem.ToArray());

        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in (string[])["-listen", "127.0.0.1:0", "-cert", certificate, "-key", key, "-ca", ca])
        {
            start.ArgumentList.Add(argument);
        }

        if (backend is not null)
        {
            start.ArgumentList.Add("-backend");
            start.ArgumentList.Add(backend.ToString().TrimEnd('/'));
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the apid stand-in.");
        var stderr = new StringWriter();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.WriteLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            string? line = await process.StandardOutput.ReadLineAsync(timeout.Token);
            if (line is null || !line.StartsWith("LISTENING ", StringComparison.Ordinal))
            {
                await process.WaitForExitAsync(timeout.Token);
                throw new InvalidOperationException($"The apid stand-in did not start: {line} {stderr}");
            }

            int port = int.Parse(line[(line.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            return new ApidStandIn(process, directory, stderr, port);
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static async Task<string> RequireBinaryAsync()
    {
        try
        {
            return await Binary.Value;
        }
        catch (GoToolchainMissingException ex)
        {
            if (EtcdRequirement.IsCi)
            {
                Assert.Fail("CI=true and the Go toolchain for the apid stand-in is missing, so this is a failure, not a skip. " + ex.Message);
            }

            Assert.Ignore(ex.Message);
            throw;
        }
    }

    private static async Task<string> BuildAsync()
    {
        string go = FindGo() ?? throw new GoToolchainMissingException(
            "'go' was not found (install Debian's golang-go and golang-golang-x-net-dev, e.g. via scripts/prerequisites.sh, or set TALOS_RECOVERY_GO).");
        string gopath = Environment.GetEnvironmentVariable("TALOS_RECOVERY_GOPATH") ?? "/usr/share/gocode";
        if (!File.Exists(Path.Combine(gopath, "src", "golang.org", "x", "net", "http2", "server.go")))
        {
            throw new GoToolchainMissingException(
                $"golang.org/x/net is not in GOPATH '{gopath}' (install Debian's golang-golang-x-net-dev, or set TALOS_RECOVERY_GOPATH).");
        }

        string source = Path.Combine(AppContext.BaseDirectory, "ApidStandIn", "main.go");
        string hash = Convert.ToHexString(SHA256.HashData(await File.ReadAllBytesAsync(source)))[..16].ToLowerInvariant();
        string root = Path.Combine(Path.GetTempPath(), "talos-recovery-apid-standin");
        string binary = Path.Combine(root, hash, "apid-standin");
        if (File.Exists(binary))
        {
            return binary;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(binary)!);
        string temporary = binary + "." + Environment.ProcessId + ".tmp";
        var start = new ProcessStartInfo(go)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(source)!,
        };
        foreach (string argument in (string[])["build", "-o", temporary, source])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["GO111MODULE"] = "off";
        start.Environment["GOPATH"] = gopath;
        start.Environment["GOCACHE"] = Path.Combine(root, "gocache");
        start.Environment["GOFLAGS"] = "";
        start.Environment["CGO_ENABLED"] = "0";
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("Could not start 'go build'.");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'go build' of the apid stand-in failed ({process.ExitCode}): {await output}{await errors}");
        }

        File.Move(temporary, binary, overwrite: true);
        return binary;
    }

    private static string? FindGo()
    {
        if (Environment.GetEnvironmentVariable("TALOS_RECOVERY_GO") is { Length: > 0 } configured)
        {
            return File.Exists(configured) ? configured : null;
        }

        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, "go");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return File.Exists("/usr/lib/go/bin/go") ? "/usr/lib/go/bin/go" : null;
    }

    private sealed class GoToolchainMissingException(string message) : Exception(message);
}
