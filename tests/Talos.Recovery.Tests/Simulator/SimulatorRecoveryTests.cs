using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Talos.Recovery.Api.Common;
using Talos.Recovery.Api.Machine;
using Talos.Recovery.Testing.Etcd;
using Talos.Recovery.Testing.Simulator;
using Talos.Recovery.Tests.Integration;

namespace Talos.Recovery.Tests.Simulator;

/// <summary>Destructive drills on their own simulators, driven with the raw generated clients as talosctl would.</summary>
[TestFixture]
[NonParallelizable]
public sealed class SimulatorRecoveryTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Test]
    public async Task Losing_two_of_three_members_is_recovered_by_reset_EtcdRecover_and_Bootstrap_with_the_data_back()
    {
        await using var sim = await SimulatorKit.StartAsync(new TalosSimulatorOptions { ControlPlanes = 3 });
        var (cp1, cp2, cp3) = (sim.ControlPlanes[0], sim.ControlPlanes[1], sim.ControlPlanes[2]);
        using (var etcd = new EtcdGatewayClient(cp1.EtcdClientUrl!))
        {
            for (int i = 0; i < 20; i++)
            {
                await etcd.PutAsync($"/registry/pods/default/p{i}", $"value-{i}");
            }
        }

        using var admin = new SimulatorConnection(sim, cp1, sim.CreateClientCertificate("os:admin"));
        byte[] snapshot = await SimulatorKit.ReadAllAsync(admin.Machine.EtcdSnapshot(new EtcdSnapshotRequest(), SimulatorKit.To(cp1.Address, 30)));

        await cp2.LoseDataAsync();
        await cp3.LoseDataAsync();
        // The survivor's leader steps down once it misses its quorum (check-quorum, about one election timeout).
        RpcException? noQuorum = null;
        for (var deadline = DateTime.UtcNow + Wait; noQuorum is null && DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            try
            {
                await admin.Machine.EtcdMemberListAsync(new EtcdMemberListRequest { QueryLocal = true }, SimulatorKit.To(cp1.Address));
            }
            catch (RpcException ex)
            {
                noQuorum = ex;
            }
        }

        Assert.That(noQuorum?.Status.Detail, Does.Contain("no leader"));

        // talosctl reset --graceful=false --reboot --system-labels-to-wipe=EPHEMERAL on every control plane; the
        // endpoint node (cp-1) last, since its reboot drops the connection the other calls travel on.
        foreach (var node in sim.ControlPlanes.Reverse())
        {
            var reset = await admin.Machine.ResetAsync(new ResetRequest
            {
                Graceful = false,
                Reboot = true,
                SystemPartitionsToWipe = { new ResetPartitionSpec { Label = "EPHEMERAL", Wipe = true } },
            }, SimulatorKit.To(node.Address));
            Assert.That(Guid.TryParse(reset.Messages[0].ActorId, out _), Is.True);
        }

        using var viaCp2 = new SimulatorConnection(sim, cp2, sim.CreateClientCertificate("os:admin"));
        foreach (var node in sim.ControlPlanes)
        {
            await SimulatorKit.WaitEtcdAsync(viaCp2.Machine, node.Address, "Preparing", Wait);
        }

        // talosctl bootstrap --recover-from: EtcdRecover in 4096-byte chunks, then Bootstrap{recover_etcd}.
        using var upload = admin.Machine.EtcdRecover(SimulatorKit.To(cp1.Address, 30));
        for (int offset = 0; offset < snapshot.Length; offset += 4096)
        {
            await upload.RequestStream.WriteAsync(new Data { Bytes = ByteString.CopyFrom(snapshot, offset, Math.Min(4096, snapshot.Length - offset)) });
        }

        await upload.RequestStream.CompleteAsync();
        await upload.ResponseAsync;
        await admin.Machine.BootstrapAsync(new BootstrapRequest { RecoverEtcd = true }, SimulatorKit.To(cp1.Address));

        var etcdService = await SimulatorKit.WaitEtcdAsync(admin.Machine, cp1.Address, "Running", Wait);
        Assert.That(etcdService.Events.Events.Select(e => e.Msg), Does.Contain("Bootstrap requested").And.Contain("Running pre state"));
        await SimulatorKit.WaitEtcdAsync(admin.Machine, cp2.Address, "Running", Wait);
        await SimulatorKit.WaitEtcdAsync(admin.Machine, cp3.Address, "Running", Wait);

        var members = await admin.Machine.EtcdMemberListAsync(new EtcdMemberListRequest(), SimulatorKit.To(cp3.Address));
        Assert.That(members.Messages[0].Members.Select(m => m.Hostname), Is.EquivalentTo(new[] { "cp-1", "cp-2", "cp-3" }));
        Assert.That(File.Exists(cp1.EtcdSnapshotUploadPath), Is.False, "a successful restore deletes the upload");
        using (var etcd = new EtcdGatewayClient(cp3.EtcdClientUrl!))
        {
            var value = await etcd.GetAsync("/registry/pods/default/p19");
            Assert.That(value?.ValueString, Is.EqualTo("value-19"));
        }

        var again = Assert.ThrowsAsync<RpcException>(() => admin.Machine.BootstrapAsync(new BootstrapRequest { RecoverEtcd = true }, SimulatorKit.To(cp1.Address)).ResponseAsync);
        Assert.That(again!.StatusCode, Is.EqualTo(StatusCode.AlreadyExists));
        Assert.That(again.Status.Detail, Is.EqualTo("etcd data directory is not empty"));
    }

    [Test]
    public async Task A_corrupted_upload_fails_the_etcd_service_with_the_hash_message_and_leaves_partial_data()
    {
        await using var sim = await SimulatorKit.StartAsync(new TalosSimulatorOptions { ControlPlanes = 1 });
        var cp1 = sim.ControlPlanes[0];
        using var admin = new SimulatorConnection(sim, cp1, sim.CreateClientCertificate("os:admin"));
        byte[] snapshot = await SimulatorKit.ReadAllAsync(admin.Machine.EtcdSnapshot(new EtcdSnapshotRequest(), SimulatorKit.To(null, 30)));
        snapshot[^1] ^= 0xFF;

        await cp1.LoseDataAsync();
        await SimulatorKit.WaitEtcdAsync(admin.Machine, cp1.Address, "Preparing", Wait);
        using (var upload = admin.Machine.EtcdRecover(SimulatorKit.To(null, 30)))
        {
            await upload.RequestStream.WriteAsync(new Data { Bytes = ByteString.CopyFrom(snapshot) });
            await upload.RequestStream.CompleteAsync();
            await upload.ResponseAsync;
        }

        await admin.Machine.BootstrapAsync(new BootstrapRequest { RecoverEtcd = true }, SimulatorKit.To(null));
        var failed = await SimulatorKit.WaitEtcdAsync(admin.Machine, cp1.Address, "Failed", Wait);
        Assert.That(failed.Events.Events[^1].Msg, Does.StartWith("Failed to run pre stage: error recovering from the snapshot: ").And.Contain("sha256"));

        var again = Assert.ThrowsAsync<RpcException>(() => admin.Machine.BootstrapAsync(new BootstrapRequest { RecoverEtcd = true }, SimulatorKit.To(null)).ResponseAsync);
        Assert.That(again!.StatusCode, Is.EqualTo(StatusCode.AlreadyExists));
    }

    [Test]
    public async Task A_member_that_lost_its_data_rejoins_through_the_join_loop_while_quorum_holds()
    {
        await using var sim = await SimulatorKit.StartAsync(new TalosSimulatorOptions { ControlPlanes = 3 });
        var cp3 = sim.ControlPlanes[2];
        ulong before = 0;
        using var admin = new SimulatorConnection(sim, sim.ControlPlanes[0], sim.CreateClientCertificate("os:admin"));
        var list = await admin.Machine.EtcdMemberListAsync(new EtcdMemberListRequest(), SimulatorKit.To(null));
        before = list.Messages[0].Members.Single(m => m.Hostname == "cp-3").Id;

        await cp3.LoseDataAsync();
        await cp3.WaitForEtcdStateAsync(Talos.Recovery.Client.TalosServiceState.Running, Wait);

        list = await admin.Machine.EtcdMemberListAsync(new EtcdMemberListRequest(), SimulatorKit.To(null));
        var members = list.Messages[0].Members;
        Assert.That(members.Select(m => m.Hostname), Is.EquivalentTo(new[] { "cp-1", "cp-2", "cp-3" }));
        Assert.That(members.Single(m => m.Hostname == "cp-3").Id, Is.Not.EqualTo(before), "the stale member was replaced");
    }

    [Test]
    public async Task Disposal_stops_every_etcd_process_of_the_simulator()
    {
        var sim = await SimulatorKit.StartAsync(new TalosSimulatorOptions { ControlPlanes = 2 });
        var pids = sim.ControlPlanes.Select(n => n.EtcdProcessId).ToList();
        Assert.That(pids, Has.All.Not.Null);
        Assert.That(ProcessProbe.IsEtcd(pids[0]!.Value), Is.True);

        await sim.DisposeAsync();

        foreach (int pid in pids.Select(p => p!.Value))
        {
            Assert.That(await ProcessProbe.WaitGoneAsync(pid, TimeSpan.FromSeconds(5)), Is.True, $"etcd pid {pid} still runs");
        }

        Assert.That(Directory.Exists(sim.WorkingDirectory), Is.False);
    }

    [Test]
    public async Task Reboot_reply_carries_an_actor_id_that_the_events_stream_reports_after_the_reboot()
    {
        await using var sim = await SimulatorKit.StartAsync(new TalosSimulatorOptions { ControlPlanes = 1, Workers = 1 });
        using var admin = new SimulatorConnection(sim, sim.ControlPlanes[0], sim.CreateClientCertificate("os:admin"));
        var worker = sim.Workers[0];
        var reboot = await admin.Machine.RebootAsync(new RebootRequest(), SimulatorKit.To(worker.Address));
        string actor = reboot.Messages[0].ActorId;

        // The node reboots at once (connections refused meanwhile); retry until its events answer, as talosctl --wait does.
        Event? first = null;
        for (var deadline = DateTime.UtcNow + Wait; first is null && DateTime.UtcNow < deadline;)
        {
            try
            {
                using var events = admin.Machine.Events(new EventsRequest { TailEvents = -1, WithActorId = actor }, SimulatorKit.To(worker.Address, 5));
                if (await events.ResponseStream.MoveNext())
                {
                    first = events.ResponseStream.Current;
                }
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.Cancelled or StatusCode.Internal)
            {
                await Task.Delay(50);
            }
        }

        Assert.That(first, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(first!.ActorId, Is.EqualTo(actor));
            Assert.That(first!.Data.TypeUrl, Is.EqualTo("talos/runtime/machine.SequenceEvent"));
            Assert.That(SequenceEvent.Parser.ParseFrom(first!.Data.Value).Sequence, Is.EqualTo("reboot"));
        });
    }
}
