using Grpc.Core;
using Talos.Recovery.Api.Cosi;
using Talos.Recovery.Client;
using Talos.Recovery.Testing.Etcd;
using Talos.Recovery.Testing.Simulator;

namespace Talos.Recovery.Tests.Simulator;

/// <summary>
/// Where a simulated node keeps etcd's data: the <c>VolumeStatuses.block.talos.dev</c> resources it serves and what a reset's
/// system labels wipe (EPHEMERAL, a directory ETCD volume on it, or an ETCD partition of its own).
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SimulatorEtcdVolumeTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Test]
    public async Task An_ETCD_partition_is_served_as_a_volume_status_and_keeps_etcd_data_when_only_EPHEMERAL_is_wiped()
    {
        await using var sim = await SimulatorKit.StartAsync(new TalosSimulatorOptions { ControlPlanes = 1, TalosVersion = "v1.14.0", EtcdVolume = SimulatedEtcdVolume.Partition });
        var node = sim.ControlPlanes[0];
        using var client = TalosClient.FromConfig(sim.CreateTalosConfig("os:reader"));

        var volume = await client.GetVolumeStatusAsync("ETCD", node.Address);
        Assert.That(volume, Is.Not.Null);
        Assert.That((volume!.Type, volume.Phase, volume.Location, volume.IsSeparateVolume), Is.EqualTo((TalosVolumeType.Partition, TalosVolumePhase.Ready, "/dev/sda6", true)));
        Assert.That(volume.Size, Is.GreaterThan(0));
        Assert.That(await ListIdsAsync(sim, node), Is.EquivalentTo(new[] { "STATE", "EPHEMERAL", "ETCD" }));
        using (var connection = new SimulatorConnection(sim, node, sim.CreateClientCertificate("os:reader")))
        {
            var definition = await connection.State.GetAsync(new GetRequest { Namespace = "meta", Type = "ResourceDefinitions.meta.cosi.dev", Id = "volumestatuses.block.talos.dev" }, SimulatorKit.To(node.Address));
            Assert.That(definition.Resource.Spec.YamlSpec, Does.Contain("defaultNamespace: runtime").And.Contain("- volumestatus"));
        }

        using (var etcd = new EtcdGatewayClient(node.EtcdClientUrl!))
        {
            await etcd.PutAsync("/registry/kept", "on the ETCD partition");
        }

        await File.WriteAllBytesAsync(node.EtcdSnapshotUploadPath, [1, 2, 3]);
        using var admin = TalosClient.FromConfig(sim.CreateTalosConfig("os:admin"));

        // Wiping EPHEMERAL alone, as on a real node, leaves the ETCD partition (and so etcd's data) alone; the upload on EPHEMERAL goes.
        await admin.ResetAsync(new TalosResetOptions { Graceful = false, Reboot = true, SystemLabelsToWipe = ["EPHEMERAL"] }, node.Address);
        await node.WaitForEtcdStateAsync(TalosServiceState.Finished, Wait);
        await node.WaitForEtcdStateAsync(TalosServiceState.Running, Wait);
        Assert.That(File.Exists(node.EtcdSnapshotUploadPath), Is.False, "the upload lives on EPHEMERAL");
        using (var etcd = new EtcdGatewayClient(node.EtcdClientUrl!))
        {
            Assert.That((await etcd.GetAsync("/registry/kept"))?.ValueString, Is.EqualTo("on the ETCD partition"));
        }

        // Wiping ETCD as well empties the data directory: the node comes back in its join loop.
        await admin.ResetAsync(new TalosResetOptions { Graceful = false, Reboot = true, SystemLabelsToWipe = ["EPHEMERAL", "ETCD"] }, node.Address);
        await node.WaitForEtcdStateAsync(TalosServiceState.Finished, Wait);
        await node.WaitForEtcdStateAsync(TalosServiceState.Preparing, Wait);
        Assert.That(Directory.EnumerateFileSystemEntries(node.EtcdDataDirectory), Is.Empty);
    }

    [Test]
    public async Task A_directory_ETCD_volume_lives_on_EPHEMERAL_and_cannot_be_wiped_without_it()
    {
        await using var sim = await SimulatorKit.StartAsync(new TalosSimulatorOptions { ControlPlanes = 1, TalosVersion = "v1.14.0", EtcdVolume = SimulatedEtcdVolume.Directory });
        var node = sim.ControlPlanes[0];
        using var admin = TalosClient.FromConfig(sim.CreateTalosConfig("os:admin"));

        var volume = await admin.GetVolumeStatusAsync("ETCD", node.Address);
        Assert.That((volume!.Type, volume.ParentId, volume.Location, volume.IsSeparateVolume), Is.EqualTo((TalosVolumeType.Directory, "EPHEMERAL", "", false)));

        var e = Assert.ThrowsAsync<TalosNodeException>(() => admin.ResetAsync(new TalosResetOptions { Graceful = false, SystemLabelsToWipe = ["ETCD"] }, node.Address));
        Assert.That((e!.StatusCode, e.Detail), Is.EqualTo((StatusCode.Unknown, "failed to reset: volume \"ETCD\" resides on volume \"EPHEMERAL\"")));
        Assert.That(node.EtcdState, Is.EqualTo(TalosServiceState.Running), "a refused reset changes nothing");

        await admin.ResetAsync(new TalosResetOptions { Graceful = false, Reboot = true, SystemLabelsToWipe = ["EPHEMERAL"] }, node.Address);
        await node.WaitForEtcdStateAsync(TalosServiceState.Finished, Wait);
        await node.WaitForEtcdStateAsync(TalosServiceState.Preparing, Wait);
        Assert.That(Directory.EnumerateFileSystemEntries(node.EtcdDataDirectory), Is.Empty, "wiping EPHEMERAL wipes the directory on it");
    }

    [Test]
    public async Task Without_an_ETCD_volume_its_status_is_NotFound_and_a_reset_naming_ETCD_fails()
    {
        await using var sim = await SimulatorKit.StartAsync(new TalosSimulatorOptions { ControlPlanes = 1 });
        var node = sim.ControlPlanes[0];
        using var admin = TalosClient.FromConfig(sim.CreateTalosConfig("os:admin"));

        Assert.That(await admin.GetVolumeStatusAsync("ETCD", node.Address), Is.Null);
        Assert.That((await admin.GetVolumeStatusAsync("EPHEMERAL", node.Address))!.Type, Is.EqualTo(TalosVolumeType.Partition));
        Assert.That(await ListIdsAsync(sim, node), Is.EquivalentTo(new[] { "STATE", "EPHEMERAL" }));
        using (var connection = new SimulatorConnection(sim, node, sim.CreateClientCertificate("os:reader")))
        {
            var notFound = Assert.ThrowsAsync<RpcException>(async () => await connection.State.GetAsync(new GetRequest { Namespace = "runtime", Type = "VolumeStatuses.block.talos.dev", Id = "ETCD" }, SimulatorKit.To(node.Address)));
            Assert.That(notFound!.StatusCode, Is.EqualTo(StatusCode.NotFound));
        }

        var e = Assert.ThrowsAsync<TalosNodeException>(() => admin.ResetAsync(new TalosResetOptions { Graceful = false, SystemLabelsToWipe = ["EPHEMERAL", "ETCD"] }, node.Address));
        Assert.That(e!.Detail, Is.EqualTo("failed to reset: volume \"ETCD\" is not located"));
    }

    [Test]
    public async Task Talos_before_1_8_does_not_know_volume_statuses_and_an_ETCD_volume_needs_1_14()
    {
        await using var sim = await SimulatorKit.StartAsync(new TalosSimulatorOptions { ControlPlanes = 1, TalosVersion = "v1.7.6" });
        using var admin = TalosClient.FromConfig(sim.CreateTalosConfig("os:admin"));

        var e = Assert.ThrowsAsync<TalosNodeException>(() => admin.GetVolumeStatusAsync("ETCD", sim.ControlPlanes[0].Address));
        Assert.That((e!.StatusCode, e.Detail), Is.EqualTo((StatusCode.PermissionDenied, "resource type \"VolumeStatuses.block.talos.dev\" is not supported")));

        Assert.ThrowsAsync<ArgumentException>(() => TalosClusterSimulator.StartAsync(new TalosSimulatorOptions { ControlPlanes = 1, EtcdVolume = SimulatedEtcdVolume.Partition }));
    }

    private static async Task<List<string>> ListIdsAsync(TalosClusterSimulator sim, SimulatedNode node)
    {
        using var connection = new SimulatorConnection(sim, node, sim.CreateClientCertificate("os:reader"));
        using var call = connection.State.List(new ListRequest { Namespace = "runtime", Type = "VolumeStatuses.block.talos.dev" }, SimulatorKit.To(node.Address));
        var ids = new List<string>();
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            Assert.That(response.Resource.Metadata.Namespace, Is.EqualTo("runtime"));
            ids.Add(response.Resource.Metadata.Id);
        }

        return ids;
    }
}
