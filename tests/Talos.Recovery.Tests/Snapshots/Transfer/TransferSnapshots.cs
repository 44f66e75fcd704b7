using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Tests.Snapshots.Transfer;

/// <summary>
/// Real snapshots for the transfer tests, made once per test run by a real etcd (from /usr/bin) on free loopback
/// ports: a streamed snapshot (<c>etcdctl snapshot save</c>, with trailer, ~1.5 MB so that it spans several disk
/// writes) and a raw copy of the same member's <c>member/snap/db</c> (no trailer). Private and minimal on purpose;
/// the shared EtcdProcess harness will replace it.
/// </summary>
internal static class TransferSnapshots
{
    private static readonly Lazy<Task<Files>> Made = new(MakeAsync);

    public static string Root { get; } = Path.Combine(Path.GetTempPath(), $"talos-recovery-transfer-{Environment.ProcessId}");

    public static async Task<Files> GetAsync()
    {
        if (!File.Exists("/usr/bin/etcd") || !File.Exists("/usr/bin/etcdctl"))
        {
            Assert.Ignore("etcd and etcdctl are not installed in /usr/bin");
        }

        return await Made.Value;
    }

    /// <summary>A fresh empty directory for one test.</summary>
    public static string NewDirectory()
    {
        var path = Path.Combine(Root, "t-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(path);
        return path;
    }

    public static void DeleteAll()
    {
        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }

    private static async Task<Files> MakeAsync()
    {
        var directory = Path.Combine(Root, "etcd");
        var data = Path.Combine(directory, "data");
        Directory.CreateDirectory(directory);
        var client = FreePort();
        var peer = FreePort();
        var clientUrl = $"http://127.0.0.1:{client}";
        var peerUrl = $"http://127.0.0.1:{peer}";
        var start = new ProcessStartInfo("/usr/bin/etcd")
        {
            ArgumentList =
            {
                "--name", "transfer", "--data-dir", data,
                "--listen-client-urls", clientUrl, "--advertise-client-urls", clientUrl,
                "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl,
                "--initial-cluster", $"transfer={peerUrl}", "--log-level", "error", "--logger", "zap",
            },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var etcd = Process.Start(start)!;
        var log = new StringBuilder();
        etcd.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        etcd.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        etcd.BeginErrorReadLine();
        etcd.BeginOutputReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(clientUrl), Timeout = TimeSpan.FromSeconds(10) };
            await WaitHealthyAsync(http, etcd, log);

            // ~1.5 MB of keys through the JSON gateway, 100 puts per transaction; then a few updates and deletes so
            // that the file has free pages and history, as real ones do.
            var value = new byte[3000];
            for (var txn = 0; txn < 5; txn++)
            {
                var puts = new List<object>();
                for (var i = 0; i < 100; i++)
                {
                    var n = (txn * 100) + i;
                    new Random(n).NextBytes(value);
                    puts.Add(new { requestPut = new { key = B64($"/registry/configmaps/ns{n % 7}/cm-{n:D4}"), value = Convert.ToBase64String(value) } });
                }

                (await http.PostAsJsonAsync("/v3/kv/txn", new { success = puts })).EnsureSuccessStatusCode();
            }

            for (var n = 0; n < 50; n++)
            {
                (await http.PostAsJsonAsync("/v3/kv/put", new { key = B64($"/registry/pods/default/p{n}"), value = B64($"pod {n}") })).EnsureSuccessStatusCode();
                if (n % 3 == 0)
                {
                    (await http.PostAsJsonAsync("/v3/kv/deleterange", new { key = B64($"/registry/configmaps/ns{n % 7}/cm-{n:D4}") })).EnsureSuccessStatusCode();
                }
            }

            var streamed = Path.Combine(directory, "streamed.db");
            var save = Process.Start(new ProcessStartInfo("/usr/bin/etcdctl", ["--endpoints", clientUrl, "snapshot", "save", streamed])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                Environment = { ["ETCDCTL_API"] = "3" },
            })!;
            var saveOutput = await save.StandardOutput.ReadToEndAsync() + await save.StandardError.ReadToEndAsync();
            await save.WaitForExitAsync();
            Assert.That(save.ExitCode, Is.Zero, "etcdctl snapshot save: " + saveOutput);

            etcd.Kill();
            await etcd.WaitForExitAsync();
            var raw = Path.Combine(directory, "raw.db");
            File.Copy(Path.Combine(data, "member", "snap", "db"), raw);
            return new Files(streamed, raw);
        }
        finally
        {
            if (!etcd.HasExited)
            {
                etcd.Kill();
                await etcd.WaitForExitAsync();
            }
        }
    }

    private static async Task WaitHealthyAsync(HttpClient http, Process etcd, StringBuilder log)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            if (etcd.HasExited)
            {
                Assert.Fail($"etcd exited with {etcd.ExitCode}: {log}");
            }

            try
            {
                var health = await http.GetStringAsync("/health");
                if (health.Contains("\"true\"", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(50);
        }

        Assert.Fail($"etcd did not become healthy: {log}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>The two snapshot files and what the tests need from them.</summary>
    public sealed class Files
    {
        public Files(string streamed, string raw)
        {
            StreamedPath = streamed;
            RawPath = raw;
            Streamed = File.ReadAllBytes(streamed);
            Raw = File.ReadAllBytes(raw);
            using (var file = SnapshotFile.Open(streamed))
            {
                StreamedStatus = file.GetStatus();
            }

            using (var file = SnapshotFile.Open(raw))
            {
                RawStatus = file.GetStatus();
            }
        }

        public string StreamedPath { get; }

        public string RawPath { get; }

        /// <summary>The streamed snapshot's bytes. Tests must not modify it (copy first).</summary>
        public byte[] Streamed { get; }

        public byte[] Raw { get; }

        public SnapshotStatus StreamedStatus { get; }

        public SnapshotStatus RawStatus { get; }
    }
}

/// <summary>Removes the files made for the transfer tests once they have all run.</summary>
[SetUpFixture]
public sealed class TransferTestsCleanup
{
    [OneTimeTearDown]
    public void DeleteFiles() => TransferSnapshots.DeleteAll();
}
