using Grpc.Core;
using Talos.Recovery.Client;
using Talos.Recovery.Snapshots;
using Talos.Recovery.Testing.Simulator;
using Talos.Recovery.Tests.Simulator;

namespace Talos.Recovery.Tests.Client;

/// <summary>
/// The real disaster-recovery call sequence through <see cref="TalosClient"/> against <see cref="TalosClusterSimulator"/>
/// (real etcd behind simulated Talos nodes): snapshot, per-node inspection, machine type and config, reset to the join
/// loop, recover and bootstrap back to Running.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class TalosClientSimulatorTests
{
    private static readonly TimeSpan StateTimeout = TimeSpan.FromSeconds(60);

    private TalosClusterSimulator _sim = null!;
    private TalosClient _client = null!;
    private string _directory = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _sim = await SimulatorKit.StartAsync(new TalosSimulatorOptions { ControlPlanes = 1, Workers = 1 });
        _client = TalosClient.FromConfig(_sim.CreateTalosConfig("os:admin"), options: new TalosClientOptions
        {
            LoggerFactory = Tls.TlsTestServer.Logs,
            CallTimeout = TimeSpan.FromSeconds(10),
            StreamInactivityTimeout = TimeSpan.FromSeconds(10),
        });
        _directory = Path.Combine(Path.GetTempPath(), $"talos-client-sim-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_directory);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _client?.Dispose();
        if (_sim is not null)
        {
            await _sim.DisposeAsync();
        }

        if (_directory is not null && Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Test]
    public async Task SnapshotInspectResetRecoverAndBootstrapThroughTheClient()
    {
        SimulatedNode cp = _sim.ControlPlanes[0];
        SimulatedNode worker = _sim.Workers[0];
        string snapshot = Path.Combine(_directory, "etcd.snapshot");
        string raw = Path.Combine(_directory, "db.raw");

        SnapshotInfo saved = await _client.EtcdSnapshotAsync(snapshot, cp.Address);
        SnapshotInfo copied = await _client.CopyEtcdDatabaseAsync(raw, cp.Address);
        IReadOnlyList<TalosNodeResult<TalosEtcdMemberStatus>> statuses = await _client.ForEachNodeAsync([cp.Address, worker.Address], _client.EtcdStatusAsync);
        TalosEtcdMemberList members = await _client.EtcdMembersAsync(cp.Address);
        TalosServiceInfo? etcd = await _client.ServiceAsync("etcd", cp.Address);
        TalosMachineType cpType = await _client.GetMachineTypeAsync(cp.Address);
        TalosMachineType workerType = await _client.GetMachineTypeAsync(worker.Address);
        string config = await _client.GetMachineConfigAsync(cp.Address);

        Assert.Multiple(() =>
        {
            Assert.That(saved.HasTrailer, Is.True);
            Assert.That(copied.HasTrailer, Is.False);
            Assert.That(statuses[0].Succeeded, Is.True);
            Assert.That(statuses[1].Error, Is.InstanceOf<TalosNodeException>().With.Property(nameof(TalosNodeException.StatusCode)).EqualTo(StatusCode.Unimplemented));
            Assert.That(members.Members.Select(m => m.Name), Is.EqualTo(new[] { cp.Name }));
            Assert.That(etcd!.State, Is.EqualTo(TalosServiceState.Running));
            Assert.That(cpType, Is.EqualTo(TalosMachineType.ControlPlane));
            Assert.That(workerType, Is.EqualTo(TalosMachineType.Worker));
            Assert.That(config, Is.EqualTo(cp.MachineConfigYaml));
        });

        string actor = await _client.ResetAsync(new TalosResetOptions(), cp.Address);
        Assert.That(actor, Is.Not.Empty);
        await WaitForEtcdAsync(cp.Address, TalosServiceState.Preparing);

        await _client.EtcdRecoverAsync(snapshot, cp.Address);
        await _client.BootstrapAsync(recoverEtcd: true, node: cp.Address);
        await WaitForEtcdAsync(cp.Address, TalosServiceState.Running);

        TalosEtcdMemberStatus after = await _client.EtcdStatusAsync(cp.Address);
        Assert.That(after.RaftIndex, Is.GreaterThan(0UL));
    }

    /// <summary>Polls the etcd service through the client (the node is unreachable while it reboots).</summary>
    private async Task WaitForEtcdAsync(string node, TalosServiceState state)
    {
        using var timeout = new CancellationTokenSource(StateTimeout);
        TalosServiceInfo? last = null;
        while (true)
        {
            try
            {
                last = await _client.ServiceAsync("etcd", node, timeout.Token);
                if (last?.State == state && (state != TalosServiceState.Running || last.Health.Healthy))
                {
                    return;
                }
            }
            catch (TalosNodeException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
            {
                // Rebooting.
            }

            try
            {
                await Task.Delay(200, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"etcd on {node} did not reach {state} within {StateTimeout}; last seen {last?.StateText ?? "nothing"} ({last?.LastEvent?.Message})");
            }
        }
    }
}
