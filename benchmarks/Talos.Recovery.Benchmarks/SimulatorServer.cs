using System.Diagnostics;
using System.Globalization;
using Talos.Recovery.Testing.Certificates;
using Talos.Recovery.Testing.Etcd;
using Talos.Recovery.Testing.Simulator;

namespace Talos.Recovery.Benchmarks;

/// <summary>
/// A one-control-plane <see cref="TalosClusterSimulator"/> loaded with Kubernetes-like keys, run in a child process
/// (<c>simserve</c>) so that the client's CPU time and allocations can be told apart from the server's (the simulator
/// and its etcd). The child prints <c>READY &lt;talosconfig&gt; &lt;node&gt; &lt;etcd pid&gt;</c> and stops when its
/// standard input closes. With <c>replay</c>, the simulator serves EtcdSnapshot from memory after the first call
/// (<see cref="TalosSimulatorOptions.ReplayEtcdSnapshot"/>), which takes etcd out of the measurement.
/// </summary>
internal sealed class SimulatorServer : IAsyncDisposable
{
    private readonly Process _process;

    private SimulatorServer(Process process, string configPath, string node, int etcdProcessId)
    {
        _process = process;
        ConfigPath = configPath;
        Node = node;
        EtcdProcessId = etcdProcessId;
    }

    public string ConfigPath { get; }

    public string Node { get; }

    public int EtcdProcessId { get; }

    /// <summary>CPU seconds (user + system) used so far by the simulator process and by its etcd.</summary>
    public (double Simulator, double Etcd) CpuSeconds() => (ProcessCpu(_process.Id), ProcessCpu(EtcdProcessId));

    public static async Task<SimulatorServer> StartAsync(TalosKeyAlgorithm keyType, int keys, int valueSize, bool replay)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(typeof(SimulatorServer).Assembly.Location);
        foreach (var a in new[] { "simserve", keyType.ToString(), keys.ToString(CultureInfo.InvariantCulture), valueSize.ToString(CultureInfo.InvariantCulture), replay ? "replay" : "etcd" })
        {
            info.ArgumentList.Add(a);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the simulator process");
        string? line;
        while ((line = await process.StandardOutput.ReadLineAsync().ConfigureAwait(false)) is not null)
        {
            Console.WriteLine("  [simserve] " + line);
            if (line.StartsWith("READY ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                _ = DrainAsync(process);
                return new SimulatorServer(process, parts[1], parts[2], int.Parse(parts[3], CultureInfo.InvariantCulture));
            }
        }

        throw new InvalidOperationException("the simulator process ended before it was ready");
    }

    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    /// <summary>The <c>simserve</c> subcommand: the child side.</summary>
    public static async Task<int> ServeAsync(string[] args)
    {
        var keyType = Enum.Parse<TalosKeyAlgorithm>(args[1]);
        var keys = int.Parse(args[2], CultureInfo.InvariantCulture);
        var valueSize = int.Parse(args[3], CultureInfo.InvariantCulture);
        var watch = Stopwatch.StartNew();
        await using var simulator = await TalosClusterSimulator.StartAsync(new TalosSimulatorOptions { ControlPlanes = 1, KeyType = keyType, ReplayEtcdSnapshot = args[4] == "replay" }).ConfigureAwait(false);
        var node = simulator.ControlPlanes[0];
        using (var etcd = new EtcdGatewayClient(node.EtcdClientUrl!))
        {
            await etcd.PutManyAsync(EtcdTestData.KubernetesLike(keys, valueSize)).ConfigureAwait(false);
            var status = await etcd.GetStatusAsync().ConfigureAwait(false);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{keyType}: {keys} keys of {valueSize} bytes loaded in {watch.Elapsed.TotalSeconds:F0} s; etcd status {status}"));
        }

        var config = simulator.WriteTalosConfig(Path.Combine(simulator.WorkingDirectory, "talosconfig"), "os:admin");
        Console.WriteLine($"READY {config} {node.Address} {node.EtcdProcessId}");
        await Console.In.ReadToEndAsync().ConfigureAwait(false);
        return 0;
    }

    private static async Task DrainAsync(Process process)
    {
        string? line;
        while ((line = await process.StandardOutput.ReadLineAsync().ConfigureAwait(false)) is not null)
        {
            Console.WriteLine("  [simserve] " + line);
        }
    }

    private static double ProcessCpu(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is field 3 (state); utime is field 14, stime field 15.
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return ticks / 100.0;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }
}
