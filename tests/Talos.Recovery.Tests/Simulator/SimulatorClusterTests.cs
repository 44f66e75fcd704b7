using System.Formats.Tar;
using System.IO.Compression;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Talos.Recovery.Api.Config;
using Talos.Recovery.Api.Cosi;
using Talos.Recovery.Api.Machine;
using Talos.Recovery.Snapshots;
using Talos.Recovery.Testing.Simulator;
using Metadata = Grpc.Core.Metadata;

namespace Talos.Recovery.Tests.Simulator;

/// <summary>Read-only behaviour of a bootstrapped simulator (3 control planes, 1 worker), shared by every test.</summary>
[TestFixture]
[NonParallelizable]
public sealed class SimulatorClusterTests
{
    private TalosClusterSimulator _sim = null!;
    private SimulatorConnection _admin = null!;
    private string _dir = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _sim = await SimulatorKit.StartAsync(new TalosSimulatorOptions { ControlPlanes = 3, Workers = 1 });
        TestContext.Progress.WriteLine($"Simulator (3 control planes + 1 worker) started in {_sim.StartupTime.TotalMilliseconds:0} ms");
        _admin = new SimulatorConnection(_sim, _sim.ControlPlanes[0], _sim.CreateClientCertificate("os:admin"));
        _dir = Directory.CreateTempSubdirectory("talos-sim-test-").FullName;
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _admin?.Dispose();
        if (_sim is not null)
        {
            await _sim.DisposeAsync();
        }

        if (_dir is not null)
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Test]
    public async Task Startup_gives_running_healthy_etcd_on_every_control_plane_and_none_on_workers()
    {
        foreach (var node in _sim.ControlPlanes)
        {
            var etcd = await SimulatorKit.EtcdServiceAsync(_admin.Machine, node.Address);
            Assert.That(etcd, Is.Not.Null);
            Assert.Multiple(() =>
            {
                Assert.That(etcd!.State, Is.EqualTo("Running"), node.Name);
                Assert.That(etcd.Health.Healthy, Is.True, node.Name);
                Assert.That(etcd.Events.Events[^1].Msg, Does.StartWith("Started task etcd (PID "));
            });
        }

        var worker = await _admin.Machine.ServiceListAsync(new Empty(), SimulatorKit.To(_sim.Workers[0].Address));
        Assert.That(worker.Messages[0].Services.Select(s => s.Id), Does.Not.Contain("etcd").And.Contain("apid"));

        var members = await _admin.Machine.EtcdMemberListAsync(new EtcdMemberListRequest { QueryLocal = true }, SimulatorKit.To(_sim.ControlPlanes[2].Address));
        Assert.That(members.Messages[0].Members.Select(m => m.Hostname), Is.EquivalentTo(new[] { "cp-1", "cp-2", "cp-3" }));
    }

    [Test]
    public async Task Node_metadata_routes_to_the_target_node_and_rejects_bad_targets_like_apid()
    {
        var cp2 = _sim.ControlPlanes[1];
        var routed = await _admin.Machine.HostnameAsync(new Empty(), SimulatorKit.To(cp2.Address));
        var local = await _admin.Machine.HostnameAsync(new Empty(), SimulatorKit.To(null));
        Assert.Multiple(() =>
        {
            Assert.That(routed.Messages[0].Hostname_, Is.EqualTo("cp-2"));
            Assert.That(routed.Messages[0].Metadata, Is.Null, "one-to-one replies carry no metadata");
            Assert.That(local.Messages[0].Hostname_, Is.EqualTo("cp-1"));
        });

        string unknown = _sim.ControlPlanes[0].Address[..^2] + "99";
        var unavailable = Assert.ThrowsAsync<RpcException>(() => _admin.Machine.HostnameAsync(new Empty(), SimulatorKit.To(unknown)).ResponseAsync);
        Assert.That(unavailable!.StatusCode, Is.EqualTo(StatusCode.Unavailable));

        var twoValues = new Metadata { { "node", cp2.Address }, { "node", _sim.ControlPlanes[2].Address } };
        var invalid = Assert.ThrowsAsync<RpcException>(() => _admin.Machine.HostnameAsync(new Empty(), new CallOptions(twoValues, DateTime.UtcNow.AddSeconds(10))).ResponseAsync);
        Assert.That(invalid!.Status.Detail, Is.EqualTo("node metadata must be single-valued"));
        Assert.That(invalid.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));

        var worker = _sim.Workers[0];
        using var viaWorker = new SimulatorConnection(_sim, worker, _sim.CreateClientCertificate("os:admin"));
        var denied = Assert.ThrowsAsync<RpcException>(() => viaWorker.Machine.HostnameAsync(new Empty(), SimulatorKit.To(cp2.Address)).ResponseAsync);
        Assert.That(denied!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
        Assert.That(denied.Status.Detail, Is.EqualTo("no request forwarding"));
        var self = await viaWorker.Machine.HostnameAsync(new Empty(), SimulatorKit.To(worker.Address));
        Assert.That(self.Messages[0].Hostname_, Is.EqualTo("worker-1"));
    }

    [Test]
    public async Task Nodes_metadata_aggregates_replies_with_hostnames_and_per_node_errors_and_is_refused_for_cosi()
    {
        string unknown = _sim.ControlPlanes[0].Address[..^2] + "99";
        var headers = new Metadata { { "nodes", _sim.ControlPlanes[0].Address }, { "nodes", _sim.ControlPlanes[1].Address }, { "nodes", unknown } };
        var reply = await _admin.Machine.HostnameAsync(new Empty(), new CallOptions(headers, DateTime.UtcNow.AddSeconds(10)));
        var byTarget = reply.Messages.ToDictionary(m => m.Metadata.Hostname);
        Assert.Multiple(() =>
        {
            Assert.That(reply.Messages, Has.Count.EqualTo(3));
            Assert.That(byTarget[_sim.ControlPlanes[0].Address].Hostname_, Is.EqualTo("cp-1"));
            Assert.That(byTarget[_sim.ControlPlanes[1].Address].Hostname_, Is.EqualTo("cp-2"));
            Assert.That(byTarget[unknown].Metadata.Error, Does.StartWith("rpc error: code = Unavailable desc = "));
            Assert.That(byTarget[unknown].Metadata.Status.Code, Is.EqualTo((int)StatusCode.Unavailable));
        });

        var cosi = Assert.ThrowsAsync<RpcException>(() => _admin.State.GetAsync(
            new GetRequest { Namespace = "config", Type = "MachineTypes.config.talos.dev", Id = "machine-type" },
            new CallOptions(headers, DateTime.UtcNow.AddSeconds(10))).ResponseAsync);
        Assert.That(cosi!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
    }

    [Test]
    public async Task Roles_are_enforced_per_method_and_sensitive_resources_need_admin()
    {
        using var reader = new SimulatorConnection(_sim, _sim.ControlPlanes[0], _sim.CreateClientCertificate("os:reader"));
        var reset = Assert.ThrowsAsync<RpcException>(() => reader.Machine.ResetAsync(new ResetRequest { Reboot = true }, SimulatorKit.To(null)).ResponseAsync);
        Assert.That(reset!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
        Assert.That(reset.Status.Detail, Is.EqualTo("not authorized"));

        var configRequest = new GetRequest { Namespace = "config", Type = "MachineConfigs.config.talos.dev", Id = "v1alpha1" };
        var config = Assert.ThrowsAsync<RpcException>(() => reader.State.GetAsync(configRequest, SimulatorKit.To(_sim.ControlPlanes[1].Address)).ResponseAsync);
        Assert.That(config!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
        Assert.That(config.Status.Detail, Is.EqualTo("not authorized"));

        var type = await reader.State.GetAsync(new GetRequest { Namespace = "config", Type = "MachineTypes.config.talos.dev", Id = "machine-type" }, SimulatorKit.To(_sim.Workers[0].Address));
        Assert.That(MachineTypeSpec.Parser.ParseFrom(type.Resource.Spec.ProtoSpec).MachineType, Is.EqualTo(MachineType.Worker));
        Assert.That(type.Resource.Spec.YamlSpec.Trim(), Is.EqualTo("worker"));

        var adminConfig = await _admin.State.GetAsync(configRequest, SimulatorKit.To(_sim.ControlPlanes[1].Address));
        string yaml = MachineConfigSpec.Parser.ParseFrom(adminConfig.Resource.Spec.ProtoSpec).YamlMarshalled.ToStringUtf8();
        Assert.That(yaml, Does.Contain("version: v1alpha1").And.Contain("hostname: cp-2").And.Contain("type: controlplane"));

        var write = Assert.ThrowsAsync<RpcException>(() => _admin.State.CreateAsync(new CreateRequest { Resource = type.Resource }, SimulatorKit.To(null)).ResponseAsync);
        Assert.That(write!.Status.Detail, Is.EqualTo("write access is not allowed"));

        var backupVersion = Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var backup = new SimulatorConnection(_sim, _sim.ControlPlanes[0], _sim.CreateClientCertificate("os:etcd:backup"));
            await backup.Machine.VersionAsync(new Empty(), SimulatorKit.To(null));
        });
        Assert.That(backupVersion!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
    }

    [Test]
    public async Task EtcdSnapshot_for_etcd_backup_role_streams_a_verifiable_snapshot_in_1024_byte_chunks_matching_etcdctl_status()
    {
        var cp1 = _sim.ControlPlanes[0];
        using (var etcd = new Talos.Recovery.Testing.Etcd.EtcdGatewayClient(cp1.EtcdClientUrl!))
        {
            await etcd.PutAsync("/registry/test/snapshot", "v1");
        }

        using var backup = new SimulatorConnection(_sim, cp1, _sim.CreateClientCertificate("os:etcd:backup"));
        int maxChunk = 0;
        bool anyMetadata = false;
        byte[] bytes = await SimulatorKit.ReadAllAsync(backup.Machine.EtcdSnapshot(new EtcdSnapshotRequest(), SimulatorKit.To(_sim.ControlPlanes[1].Address, 30)), chunk =>
        {
            maxChunk = Math.Max(maxChunk, chunk.Bytes.Length);
            anyMetadata |= chunk.Metadata is not null;
        });
        string path = Path.Combine(_dir, "snapshot.db");
        await File.WriteAllBytesAsync(path, bytes);

        using var file = SnapshotFile.Open(path);
        var verification = file.Verify();
        var etcdctl = await new Talos.Recovery.Testing.Etcd.Etcdctl().SnapshotStatusJsonAsync(path);
        Assert.Multiple(() =>
        {
            Assert.That(maxChunk, Is.LessThanOrEqualTo(1024).And.GreaterThan(0));
            Assert.That(anyMetadata, Is.False);
            Assert.That(file.HasTrailer, Is.True);
            Assert.That(verification.IsValid, Is.True, string.Join("; ", verification.Problems));
            Assert.That(verification.Trailer, Is.EqualTo(SnapshotTrailerState.Verified));
            Assert.That(verification.Status!.Revision, Is.EqualTo(etcdctl.Revision));
        });

        var worker = Assert.ThrowsAsync<RpcException>(() => SimulatorKit.ReadAllAsync(_admin.Machine.EtcdSnapshot(new EtcdSnapshotRequest(), SimulatorKit.To(_sim.Workers[0].Address))));
        Assert.That(worker!.StatusCode, Is.EqualTo(StatusCode.Unimplemented));
    }

    [Test]
    public async Task Copy_of_the_etcd_database_is_a_gzip_tar_with_one_trailerless_db_entry()
    {
        int maxChunk = 0;
        byte[] archive = await SimulatorKit.ReadAllAsync(
            _admin.Machine.Copy(new CopyRequest { RootPath = "/var/lib/etcd/member/snap/db" }, SimulatorKit.To(_sim.ControlPlanes[2].Address, 30)),
            chunk => maxChunk = Math.Max(maxChunk, chunk.Bytes.Length));

        using var gzip = new GZipStream(new MemoryStream(archive), CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        var entries = new List<(string Name, byte[] Data)>();
        while (tar.GetNextEntry(copyData: true) is { } entry)
        {
            using var data = new MemoryStream();
            entry.DataStream?.CopyTo(data);
            entries.Add((entry.Name, data.ToArray()));
        }

        Assert.That(entries.Select(e => e.Name), Is.EqualTo(new[] { "db" }));
        byte[] db = entries[0].Data;
        using var file = SnapshotFile.FromMemory(db);
        var verification = file.Verify();
        Assert.Multiple(() =>
        {
            Assert.That(maxChunk, Is.LessThanOrEqualTo(1024));
            Assert.That(db.Length % 4096, Is.Zero);
            Assert.That(file.HasTrailer, Is.False);
            Assert.That(verification.Status, Is.Not.Null);
        });

        var missing = Assert.ThrowsAsync<RpcException>(() => SimulatorKit.ReadAllAsync(_admin.Machine.Copy(new CopyRequest { RootPath = "/var/lib/nothing" }, SimulatorKit.To(null))));
        Assert.That(missing!.Status.Detail, Does.StartWith("lstat /var/lib/nothing"));
    }

    [Test]
    public void Bootstrap_of_a_bootstrapped_node_is_AlreadyExists_and_on_a_worker_Unimplemented()
    {
        var exists = Assert.ThrowsAsync<RpcException>(() => _admin.Machine.BootstrapAsync(new BootstrapRequest(), SimulatorKit.To(_sim.ControlPlanes[1].Address)).ResponseAsync);
        Assert.That(exists!.StatusCode, Is.EqualTo(StatusCode.AlreadyExists));
        Assert.That(exists.Status.Detail, Is.EqualTo("etcd data directory is not empty"));

        var worker = Assert.ThrowsAsync<RpcException>(() => _admin.Machine.BootstrapAsync(new BootstrapRequest(), SimulatorKit.To(_sim.Workers[0].Address)).ResponseAsync);
        Assert.That(worker!.StatusCode, Is.EqualTo(StatusCode.Unimplemented));
    }

    [Test]
    public async Task Talosconfig_names_the_simulator_context_with_control_plane_endpoints_and_every_node()
    {
        string path = _sim.WriteTalosConfig(Path.Combine(_dir, "talosconfig"));
        var config = Talos.Recovery.Client.TalosConfig.Load(path);
        string text = await File.ReadAllTextAsync(path);
        Assert.Multiple(() =>
        {
            Assert.That(config.CurrentContextName, Is.EqualTo("simulator"));
            Assert.That(OperatingSystem.IsWindows() || File.GetUnixFileMode(path) == (UnixFileMode.UserRead | UnixFileMode.UserWrite), Is.True);
            Assert.That(text, Does.Contain(_sim.ControlPlanes[0].Endpoint).And.Contain(_sim.Workers[0].Address));
        });
    }
}
