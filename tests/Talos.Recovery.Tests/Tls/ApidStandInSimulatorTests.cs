using Grpc.Core;
using Talos.Recovery.Client;
using Talos.Recovery.Snapshots;
using Talos.Recovery.Testing.Etcd;
using Talos.Recovery.Testing.Simulator;

namespace Talos.Recovery.Tests.Tls;

/// <summary>
/// A real node is apid (Go crypto/tls, port 50000) in front of machined. Here the Go apid stand-in, with apid's TLS
/// settings, terminates the Ed25519 mutual TLS and forwards gRPC over h2c to a simulated node (injecting the client
/// certificate's roles as `talos-role`, as apid does), so the SDK's handshake and calls are proven against a TLS stack
/// that is not the project's.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ApidStandInSimulatorTests
{
    [Test]
    [CancelAfter(120_000)]
    public async Task Through_Go_apid_a_simulated_node_answers_Version_streams_a_verified_snapshot_and_refuses_a_reader_reset(CancellationToken cancellationToken)
    {
        await using var simulator = await TalosClusterSimulator.StartAsync(new TalosSimulatorOptions { ControlPlanes = 1, PlaintextListener = true }, cancellationToken);
        var node = simulator.ControlPlanes[0];
        await using var apid = await ApidStandIn.StartAsync(
            simulator.CertificateAuthority.IssueServerCertificate("127.0.0.1"),
            simulator.CertificateAuthority,
            new Uri($"http://{node.Address}:{node.PlaintextPort}"));
        var endpoint = new TalosClientOptions { Endpoints = [TalosEndpoint.Parse($"127.0.0.1:{apid.Port}")] };
        var directory = Directory.CreateTempSubdirectory("apid-sim-").FullName;
        try
        {
            using var admin = TalosClient.FromConfig(simulator.CreateTalosConfig("os:admin"), options: endpoint);
            var version = await admin.VersionAsync(cancellationToken: cancellationToken);
            var path = Path.Combine(directory, "etcd.snapshot");
            var snapshot = await admin.EtcdSnapshotAsync(path, cancellationToken: cancellationToken);
            var etcdctl = await new Etcdctl().SnapshotStatusJsonAsync(path, cancellationToken);

            using var reader = TalosClient.FromConfig(simulator.CreateTalosConfig("os:reader"), options: endpoint);
            var refused = Assert.ThrowsAsync<TalosNodeException>(() => reader.ResetAsync(cancellationToken: cancellationToken));

            Assert.Multiple(() =>
            {
                Assert.That(version.Tag, Is.EqualTo(simulator.Options.TalosVersion));
                Assert.That(snapshot.Trailer, Is.EqualTo(SnapshotTrailerState.Verified));
                Assert.That(snapshot.Status.Revision, Is.EqualTo(etcdctl.Revision));
                Assert.That(snapshot.Status.Hash, Is.EqualTo(etcdctl.Hash));
                Assert.That(refused!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
