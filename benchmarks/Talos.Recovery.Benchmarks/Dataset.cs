using System.Globalization;
using System.Text;
using Talos.Recovery.Testing.Etcd;

namespace Talos.Recovery.Benchmarks;

/// <summary>
/// <c>dataset --out FILE [--keys N] [--value-size BYTES]</c>: fills a real etcd with N keys of random values
/// (Kubernetes-shaped names, spread over namespaces) and saves a snapshot with etcdctl. The benchmarks and the
/// comparison scripts use it once and cache the file.
/// </summary>
internal static class Dataset
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? output = null;
        var keys = 600_000;
        var valueSize = 1024;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--out" when i + 1 < args.Length:
                    output = args[++i];
                    break;
                case "--keys" when i + 1 < args.Length:
                    keys = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--value-size" when i + 1 < args.Length:
                    valueSize = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                default:
                    Console.Error.WriteLine("usage: dataset --out FILE [--keys N] [--value-size BYTES]");
                    return 2;
            }
        }

        if (output is null)
        {
            Console.Error.WriteLine("usage: dataset --out FILE [--keys N] [--value-size BYTES]");
            return 2;
        }

        await BuildAsync(Path.GetFullPath(output), keys, valueSize, CancellationToken.None).ConfigureAwait(false);
        return 0;
    }

    public static async Task BuildAsync(string output, int keys, int valueSize, CancellationToken cancellationToken)
    {
        var options = new EtcdClusterOptions { QuotaBackendBytes = 8L << 30 };
        await using var cluster = await EtcdCluster.StartAsync(options, cancellationToken).ConfigureAwait(false);
        var started = DateTime.UtcNow;
        var result = await cluster.Client.PutManyAsync(Items(keys, valueSize), progress: null, cancellationToken: cancellationToken).ConfigureAwait(false);
        Console.Error.WriteLine($"loaded {keys} keys of {valueSize} bytes in {DateTime.UtcNow - started:mm\\:ss} ({result})");
        var temporary = output + ".tmp";
        await cluster.Etcdctl.SnapshotSaveAsync(temporary, cancellationToken).ConfigureAwait(false);
        File.Move(temporary, output, overwrite: true);
        Console.Error.WriteLine($"saved {output} ({new FileInfo(output).Length} bytes)");
    }

    private static IEnumerable<EtcdPut> Items(int keys, int valueSize)
    {
        var random = new Random(20261128);
        for (var i = 0; i < keys; i++)
        {
            var value = new byte[valueSize];
            random.NextBytes(value);
            var key = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"/registry/configmaps/ns-{i % 100:D3}/cm-{i:D7}"));
            yield return new EtcdPut(key, value);
        }
    }
}
