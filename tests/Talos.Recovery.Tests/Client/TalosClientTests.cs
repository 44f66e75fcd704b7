using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Talos.Recovery.Client;
using Talos.Recovery.Snapshots;
using Talos.Recovery.Testing.Certificates;
using Talos.Recovery.Tests.Snapshots.Transfer;

namespace Talos.Recovery.Tests.Client;

/// <summary>
/// <see cref="TalosClient"/> against <see cref="FakeTalosNode"/> over the real mTLS transport (Ed25519 by default, one
/// ECDSA node), with real etcd snapshots (streamed and raw) made once per run by a real etcd.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class TalosClientTests
{
    private TalosCertificateAuthority _ca = null!;
    private FakeTalosNode _node = null!;
    private TransferSnapshots.Files _snapshots = null!;
    private string _directory = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _snapshots = await TransferSnapshots.GetAsync();
        _ca = TalosCertificateAuthority.Create();
        _node = await FakeTalosNode.StartAsync(_ca.IssueServerCertificate("127.0.0.1"), _ca);
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await _node.DisposeAsync();

    [SetUp]
    public void NewDirectory() => _directory = TransferSnapshots.NewDirectory();

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    private TalosClient Client(string role = "os:admin", TalosClientOptions? options = null, params int[] ports)
        => Client(_ca, role, options, ports.Length == 0 ? [_node.Port] : ports);

    private static TalosClient Client(TalosCertificateAuthority ca, string role, TalosClientOptions? options, int[] ports)
    {
        TalosCertificate client = ca.IssueClientCertificate(role);
        var context = new TalosContextOptions
        {
            CertificateAuthorityPem = ca.CertificatePem,
            ClientCertificatePem = client.CertificatePem,
            ClientKeyPem = client.KeyPem,
        };
        foreach (int port in ports)
        {
            context.Endpoints.Add($"127.0.0.1:{port}");
        }

        return TalosClient.FromConfig(TalosConfig.Create("test", context), options: options ?? new TalosClientOptions { LoggerFactory = Tls.TlsTestServer.Logs });
    }

    [Test]
    public async Task UnaryCallsMapRepliesAndSendTheNodeHeaderOnlyWhenANodeIsNamed()
    {
        using TalosClient client = Client();
        TalosVersionInfo version = await client.VersionAsync("10.5.0.2");
        TalosEtcdMemberList members = await client.EtcdMembersAsync("10.5.0.2", queryLocal: true);
        TalosEtcdMemberStatus status = await client.EtcdStatusAsync();
        TalosServiceInfo? etcd = await client.ServiceAsync("etcd", "10.5.0.2");
        TalosServiceInfo? missing = await client.ServiceAsync("nope");
        string hostname = await client.HostnameAsync();

        Assert.Multiple(() =>
        {
            Assert.That(version, Is.EqualTo(new TalosVersionInfo("10.5.0.2", "v1.11.3", "abc", "today", "go1.24", "linux", "amd64", "metal", true)));
            Assert.That(members.Members.Single().Id, Is.EqualTo(0xabcUL));
            Assert.That(members.Members.Single().IsLearner, Is.False, "query_local was sent");
            Assert.That(status.IsLeader, Is.True);
            Assert.That(status.Errors, Is.EqualTo(new[] { "NOSPACE" }));
            Assert.That(status.Node, Is.EqualTo($"127.0.0.1:{_node.Port}"), "no node: the endpoint answered");
            Assert.That(etcd!.State, Is.EqualTo(TalosServiceState.Preparing));
            Assert.That(etcd.Health.Unknown, Is.True);
            Assert.That(etcd.LastEvent!.Message, Is.EqualTo("Running pre state"));
            Assert.That(etcd.LastEvent.Timestamp, Is.EqualTo(new DateTimeOffset(2026, 1, 1, 0, 0, 5, TimeSpan.Zero)));
            Assert.That(missing, Is.Null);
            Assert.That(hostname, Is.EqualTo("cp-1"));
        });
    }

    [Test]
    public async Task SnapshotIsSavedVerifiedAndIdenticalToTheNodesBytes()
    {
        _node.Machine.Snapshot = _snapshots.Streamed;
        _node.Machine.SnapshotTruncateAt = null;
        _node.Machine.SnapshotStalls = false;
        using TalosClient client = Client("os:etcd:backup");
        string path = Path.Combine(_directory, "etcd.snapshot");

        SnapshotInfo info = await client.EtcdSnapshotAsync(path, "10.5.0.2");

        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllBytes(path), Is.EqualTo(_snapshots.Streamed));
            Assert.That(info.HasTrailer, Is.True);
            Assert.That(info.Status, Is.EqualTo(_snapshots.StreamedStatus));
            if (!OperatingSystem.IsWindows())
            {
                Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
            }
        });
    }

    [Test]
    public void SnapshotStreamThatEndsEarlyWithOkIsATypedErrorAndLeavesNoFile()
    {
        _node.Machine.Snapshot = _snapshots.Streamed;
        _node.Machine.SnapshotTruncateAt = _snapshots.Streamed.Length / 2;
        _node.Machine.SnapshotStalls = false;
        using TalosClient client = Client();
        string path = Path.Combine(_directory, "etcd.snapshot");

        var ex = Assert.ThrowsAsync<SnapshotTransferException>(() => client.EtcdSnapshotAsync(path, "10.5.0.2"));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Reason, Is.AnyOf(SnapshotTransferFailure.Truncated, SnapshotTransferFailure.MissingTrailer, SnapshotTransferFailure.InvalidSnapshot));
            Assert.That(Directory.GetFiles(_directory), Is.Empty);
        });
    }

    [Test]
    public void StalledSnapshotStreamFailsAfterTheInactivityTimeoutAndLeavesNoFile()
    {
        _node.Machine.Snapshot = _snapshots.Streamed;
        _node.Machine.SnapshotTruncateAt = null;
        _node.Machine.SnapshotStalls = true;
        using TalosClient client = Client(options: new TalosClientOptions { StreamInactivityTimeout = TimeSpan.FromSeconds(1) });
        string path = Path.Combine(_directory, "etcd.snapshot");

        var ex = Assert.ThrowsAsync<TalosNodeException>(() => client.EtcdSnapshotAsync(path, "10.5.0.2"));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.DeadlineExceeded));
            Assert.That(ex.Message, Does.Contain("stalled"));
            Assert.That(Directory.GetFiles(_directory), Is.Empty);
        });
    }

    [Test]
    public void PermissionDeniedNamesTheRolesThatAreNeeded()
    {
        using TalosClient client = Client("os:reader");

        var ex = Assert.ThrowsAsync<TalosNodeException>(() => client.EtcdSnapshotAsync(Path.Combine(_directory, "s"), "10.5.0.2"));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(ex.Node, Is.EqualTo("10.5.0.2"));
            Assert.That(ex.Method, Is.EqualTo("machine.MachineService/EtcdSnapshot"));
            Assert.That(ex.Message, Does.Contain("os:etcd:backup").And.Contain("roles: os:reader"));
            Assert.That(ex.InnerException, Is.InstanceOf<RpcException>());
            Assert.That(Directory.GetFiles(_directory), Is.Empty);
        });
    }

    [Test]
    public void UnimplementedOnAWorkerSaysItIsNotAControlPlaneNode()
    {
        using TalosClient client = Client();

        var ex = Assert.ThrowsAsync<TalosNodeException>(() => client.EtcdStatusAsync("worker"));

        Assert.That(ex!.Message, Does.Contain("not a control-plane node"));
    }

    [Test]
    public async Task BootstrapIsRetriedOnFailedPreconditionUntilTheNodeAccepts()
    {
        _node.Machine.Bootstraps.Clear();
        _node.Machine.BootstrapFailedPreconditions = 2;
        using TalosClient client = Client();

        await client.BootstrapAsync(recoverEtcd: true, recoverSkipHashCheck: true, node: "10.5.0.2");

        Assert.That(_node.Machine.Bootstraps.Select(b => (b.RecoverEtcd, b.RecoverSkipHashCheck)), Is.EqualTo(Enumerable.Repeat((true, true), 3)));
    }

    [Test]
    public void BootstrapGivesUpOnFailedPreconditionWhenRetryingIsOff()
    {
        _node.Machine.Bootstraps.Clear();
        _node.Machine.BootstrapFailedPreconditions = 1;
        using TalosClient client = Client(options: new TalosClientOptions { FailedPreconditionRetryTimeout = TimeSpan.Zero });

        var ex = Assert.ThrowsAsync<TalosNodeException>(() => client.BootstrapAsync(node: "10.5.0.2"));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
            Assert.That(_node.Machine.Bootstraps, Has.Count.EqualTo(1));
        });
    }

    [Test]
    public async Task RecoverUploadsTheVerifiedFileInChunksOfAtMost4KiBAndReopensItOnFailedPrecondition()
    {
        _node.Machine.RecoverFailedPreconditions = 1;
        using TalosClient client = Client();
        int before = _node.Machine.Recovers;

        await client.EtcdRecoverAsync(_snapshots.StreamedPath, "10.5.0.2");

        Assert.Multiple(() =>
        {
            Assert.That(_node.Machine.Recovers - before, Is.EqualTo(2));
            Assert.That(_node.Machine.Uploaded, Is.EqualTo(_snapshots.Streamed));
            Assert.That(_node.Machine.LargestUploadChunk, Is.EqualTo(4096));
        });
    }

    [Test]
    public void RecoverRefusesADamagedSnapshotBeforeSendingAnything()
    {
        string damaged = Path.Combine(_directory, "damaged");
        byte[] bytes = (byte[])_snapshots.Streamed.Clone();
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(damaged, bytes);
        using TalosClient client = Client();
        int before = _node.Machine.Recovers;

        Assert.ThrowsAsync<SnapshotIntegrityException>(() => client.EtcdRecoverAsync(damaged, "10.5.0.2"));
        Assert.That(_node.Machine.Recovers, Is.EqualTo(before));
    }

    [Test]
    public async Task FirstEndpointRefusingConnectionsFailsOverToTheNext()
    {
        int closed = ClosedPort();
        using TalosClient client = Client("os:admin", null, closed, _node.Port);

        TalosVersionInfo version = await client.VersionAsync("10.5.0.2");

        Assert.That(version.Tag, Is.EqualTo("v1.11.3"));
    }

    [Test]
    public void NoReachableEndpointIsUnavailableNamingTheEndpoint()
    {
        int closed = ClosedPort();
        using TalosClient client = Client("os:admin", null, closed);

        var ex = Assert.ThrowsAsync<TalosNodeException>(() => client.VersionAsync());

        Assert.Multiple(() =>
        {
            Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.Unavailable));
            Assert.That(ex.Message, Does.Contain($"127.0.0.1:{closed}"));
        });
    }

    [Test]
    public void UntrustedServerIsATlsError()
    {
        TalosCertificateAuthority other = TalosCertificateAuthority.Create();
        TalosCertificate client = _ca.IssueClientCertificate("os:admin");
        var context = new TalosContextOptions { CertificateAuthorityPem = other.CertificatePem, ClientCertificatePem = client.CertificatePem, ClientKeyPem = client.KeyPem };
        context.Endpoints.Add($"127.0.0.1:{_node.Port}");
        using TalosClient talos = TalosClient.FromConfig(TalosConfig.Create("test", context));

        Assert.ThrowsAsync<TalosTlsException>(() => talos.VersionAsync());
    }

    [Test]
    public async Task EcdsaIdentityWorks()
    {
        TalosCertificateAuthority ca = TalosCertificateAuthority.Create(TalosKeyAlgorithm.EcdsaP256);
        await using FakeTalosNode node = await FakeTalosNode.StartAsync(ca.IssueServerCertificate("127.0.0.1"), ca);
        using TalosClient client = Client(ca, "os:reader", null, [node.Port]);

        TalosVersionInfo version = await client.VersionAsync();

        Assert.That(version.Rbac, Is.True);
    }

    [Test]
    public async Task CopyEtcdDatabaseUnpacksTheDbEntryIntoARawSnapshot()
    {
        _node.Machine.CopyArchive = FakeTalosNode.TarGz(("db", _snapshots.Raw));
        using TalosClient client = Client();
        string path = Path.Combine(_directory, "db.snapshot");

        SnapshotInfo info = await client.CopyEtcdDatabaseAsync(path, "10.5.0.2");

        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllBytes(path), Is.EqualTo(_snapshots.Raw));
            Assert.That(info.HasTrailer, Is.False);
            Assert.That(info.Status, Is.EqualTo(_snapshots.RawStatus));
        });
    }

    [Test]
    public void CopyEtcdDatabaseOfATruncatedArchiveLeavesNoFile()
    {
        byte[] archive = FakeTalosNode.TarGz(("db", _snapshots.Raw));
        _node.Machine.CopyArchive = archive[..(archive.Length / 2)];
        using TalosClient client = Client();

        Assert.That(async () => await client.CopyEtcdDatabaseAsync(Path.Combine(_directory, "db.snapshot"), "10.5.0.2"), Throws.InstanceOf<TalosRecoveryException>());
        Assert.That(Directory.GetFiles(_directory), Is.Empty);
    }

    [Test]
    public async Task CopyExtractsLikeTalosctlCpAndRefusesToOverwrite()
    {
        _node.Machine.CopyArchive = FakeTalosNode.TarGz(("snap/db", [1, 2, 3]), ("snap/other", [4]));
        using TalosClient client = Client();
        string target = Path.Combine(_directory, "out");

        await client.CopyAsync("/var/lib/etcd/member", target, "10.5.0.2");

        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllBytes(Path.Combine(target, "snap", "db")), Is.EqualTo(new byte[] { 1, 2, 3 }));
            Assert.That(File.ReadAllBytes(Path.Combine(target, "snap", "other")), Is.EqualTo(new byte[] { 4 }));
        });
        Assert.ThrowsAsync<IOException>(() => client.CopyAsync("/var/lib/etcd/member", target, "10.5.0.2"));
        Assert.That(Directory.GetFiles(Path.Combine(target, "snap")), Has.Length.EqualTo(2), "no temporary file left");
    }

    [Test]
    public async Task ReadStreamsRawBytesAndTurnsAnErrorEnvelopeIntoAnError()
    {
        using TalosClient client = Client();
        using var output = new MemoryStream();

        long length = await client.ReadAsync("/etc/hostname", output, "10.5.0.2");
        var ex = Assert.ThrowsAsync<TalosNodeException>(() => client.ReadAsync("/broken", new MemoryStream(), "10.5.0.2"));

        Assert.Multiple(() =>
        {
            Assert.That(System.Text.Encoding.UTF8.GetString(output.ToArray()), Is.EqualTo("hello world"));
            Assert.That(length, Is.EqualTo(11));
            Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(ex.Node, Is.EqualTo("10.5.0.3"));
        });
    }

    [Test]
    public void UnaryReplyWithMetadataErrorIsAnError()
    {
        using TalosClient client = Client();

        var ex = Assert.ThrowsAsync<TalosNodeException>(() => client.EtcdMembersAsync("unreachable"));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.Unavailable));
            Assert.That(ex.Detail, Is.EqualTo("connection refused"));
            Assert.That(ex.Node, Is.EqualTo("10.5.0.9"));
        });
    }

    [Test]
    public async Task ResetSendsEachLabelWithWipeAndReturnsTheActor()
    {
        using TalosClient client = Client();

        string actor = await client.ResetAsync(new TalosResetOptions { SystemLabelsToWipe = ["EPHEMERAL", "ETCD"] }, "10.5.0.2");

        Api.Machine.ResetRequest request = _node.Machine.LastReset!;
        Assert.Multiple(() =>
        {
            Assert.That(actor, Is.EqualTo("actor-1"));
            Assert.That(request.Graceful, Is.False);
            Assert.That(request.Reboot, Is.True);
            Assert.That(request.SystemPartitionsToWipe.Select(p => (p.Label, p.Wipe)), Is.EqualTo(new[] { ("EPHEMERAL", true), ("ETCD", true) }));
        });
    }

    [Test]
    public async Task MachineConfigAndTypeComeFromTheResourceApiWithTheNodeHeader()
    {
        using TalosClient client = Client();
        _node.Machine.Nodes.Clear();

        string config = await client.GetMachineConfigAsync("10.5.0.2");
        TalosMachineType type = await client.GetMachineTypeAsync("10.5.0.2");
        TalosMachineType worker = await client.GetMachineTypeAsync("worker");

        Assert.Multiple(() =>
        {
            Assert.That(config, Is.EqualTo(FakeState.ConfigYaml));
            Assert.That(type, Is.EqualTo(TalosMachineType.ControlPlane));
            Assert.That(worker, Is.EqualTo(TalosMachineType.Worker), "yaml_spec fallback");
            Assert.That(_node.Machine.Nodes, Is.EqualTo(new[] { "10.5.0.2", "10.5.0.2", "worker" }));
        });
    }

    [Test]
    public async Task EventsAreSummarisedAndFilteredByActor()
    {
        using TalosClient client = Client();
        var events = new List<TalosEvent>();

        await foreach (TalosEvent e in client.EventsAsync("10.5.0.2", actorId: "actor-1"))
        {
            events.Add(e);
        }

        Assert.That(events.Select(e => e.Summary), Is.EqualTo(new[] { "sequence reset: start", "service etcd: Running: Started task etcd" }));
    }

    [Test]
    public async Task ForEachNodeGathersEachNodesOutcome()
    {
        using TalosClient client = Client();

        IReadOnlyList<TalosNodeResult<TalosEtcdMemberStatus>> results = await client.ForEachNodeAsync(["10.5.0.2", "worker"], client.EtcdStatusAsync);

        Assert.Multiple(() =>
        {
            Assert.That(results[0].Succeeded, Is.True);
            Assert.That(results[1].Error, Is.InstanceOf<TalosNodeException>());
            Assert.That(((TalosNodeException)results[1].Error!).StatusCode, Is.EqualTo(StatusCode.Unimplemented));
        });
    }

    private static int ClosedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
