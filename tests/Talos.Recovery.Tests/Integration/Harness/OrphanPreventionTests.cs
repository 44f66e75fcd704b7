using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Talos.Recovery.Tests.Integration.Harness;

/// <summary>
/// No etcd outlives the process that started it. A separate host process (Talos.Recovery.Testing.OrphanProbe) starts
/// etcd through the harness and is then killed the hard way (SIGKILL: no handler runs, only the kernel's parent-death
/// signal can help) or the polite way (SIGTERM: the harness's signal handler cleans up).
/// </summary>
[TestFixture]
[Platform("Linux")]
public sealed class OrphanPreventionTests
{
    private const int SIGTERM = 15;

    [OneTimeSetUp]
    public void RequireEtcd() => EtcdRequirement.Require();

    [Test]
    public async Task Killing_the_host_with_SIGKILL_takes_etcd_down_with_it()
    {
        var (probe, etcdPid, root) = await StartProbeAsync();
        try
        {
            Assert.That(ProcessProbe.IsEtcd(etcdPid), Is.True);

            probe.Kill();
            await probe.WaitForExitAsync();

            Assert.That(await ProcessProbe.WaitGoneAsync(etcdPid, TimeSpan.FromSeconds(10)), Is.True, "the parent-death signal killed etcd");
        }
        finally
        {
            Cleanup(probe, etcdPid, root);
        }
    }

    [Test]
    public async Task SIGTERM_to_the_host_kills_etcd_and_deletes_its_directory_even_without_the_parent_death_signal()
    {
        var (probe, etcdPid, root) = await StartProbeAsync("--no-pdeathsig");
        try
        {
            Assert.That(Kill(probe.Id, SIGTERM), Is.Zero);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await probe.WaitForExitAsync(timeout.Token);

            Assert.That(await ProcessProbe.WaitGoneAsync(etcdPid, TimeSpan.FromSeconds(10)), Is.True, "the SIGTERM handler killed etcd");
            Assert.That(Directory.Exists(root), Is.False, "the exit handler deleted the cluster directory");
        }
        finally
        {
            Cleanup(probe, etcdPid, root);
        }
    }

    private static async Task<(Process Probe, int EtcdPid, string Root)> StartProbeAsync(params string[] arguments)
    {
        var probeDll = Path.Combine(AppContext.BaseDirectory, "Talos.Recovery.Testing.OrphanProbe.dll");
        Assert.That(File.Exists(probeDll), Is.True, $"{probeDll} is built next to the tests");
        var startInfo = new ProcessStartInfo(Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add("exec");
        startInfo.ArgumentList.Add(probeDll);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        var probe = Process.Start(startInfo)!;
        probe.ErrorDataReceived += (_, _) => { };
        probe.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        string? line;
        do
        {
            line = await probe.StandardOutput.ReadLineAsync(timeout.Token);
        }
        while (line is not null && !line.StartsWith("READY ", StringComparison.Ordinal));

        if (line is null)
        {
            probe.Kill();
            Assert.Fail("the probe exited before etcd was ready");
        }

        var parts = line!.Split(' ', 3);
        return (probe, int.Parse(parts[1], CultureInfo.InvariantCulture), parts[2]);
    }

    private static void Cleanup(Process probe, int etcdPid, string root)
    {
        if (!probe.HasExited)
        {
            probe.Kill();
        }

        probe.Dispose();
        if (ProcessProbe.IsAlive(etcdPid) && ProcessProbe.IsEtcd(etcdPid))
        {
            Process.GetProcessById(etcdPid).Kill();
        }

        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
