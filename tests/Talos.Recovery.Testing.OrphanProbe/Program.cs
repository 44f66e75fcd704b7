using System.Globalization;
using Talos.Recovery.Testing.Etcd;

// Usage: orphan-probe [--no-pdeathsig]
// Starts a one-member etcd cluster, prints "READY <etcd pid> <cluster directory>", then waits until it is killed.
// The tests kill this process (SIGKILL or SIGTERM) and check that etcd does not survive it.
var options = new EtcdClusterOptions { UseParentDeathSignal = !args.Contains("--no-pdeathsig") };
var cluster = await EtcdCluster.StartAsync(options);
var pid = cluster.Members[0].ProcessId ?? throw new InvalidOperationException("etcd is not running");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"READY {pid} {cluster.RootDirectory}"));
Console.Out.Flush();
await Task.Delay(Timeout.Infinite);
GC.KeepAlive(cluster);
