using Talos.Recovery.Testing.Etcd;

namespace Talos.Recovery.Tests.Integration.Harness;

/// <summary>What happens when etcd is missing: a clear typed error, and a failure (not a skip) under CI.</summary>
[TestFixture]
public sealed class EtcdRequirementTests
{
    [Test]
    public void Under_CI_a_missing_etcd_fails_the_test() =>
        Assert.That(EtcdRequirement.Decide(found: false, isCi: true), Is.EqualTo(MissingEtcdAction.Fail));

    [Test]
    public void Outside_CI_a_missing_etcd_ignores_the_test() =>
        Assert.That(EtcdRequirement.Decide(found: false, isCi: false), Is.EqualTo(MissingEtcdAction.Ignore));

    [Test]
    public void An_installed_etcd_runs_the_test([Values] bool isCi) =>
        Assert.That(EtcdRequirement.Decide(found: true, isCi), Is.EqualTo(MissingEtcdAction.Run));

    [Test]
    public void A_missing_etcd_executable_is_a_typed_error_with_the_install_command()
    {
        var ex = Assert.Throws<EtcdNotFoundException>(() => EtcdBinaries.Find(etcdPath: "/nonexistent/etcd"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(ex!.Executable, Is.EqualTo("etcd"));
            Assert.That(ex.Message, Does.Contain("apt-get install -y etcd-server etcd-client"));
            Assert.That(ex.Message, Does.Contain("/nonexistent/etcd"));
            Assert.That(ex, Is.InstanceOf<TalosRecoveryException>());
        }
    }

    [Test]
    public void A_missing_etcdctl_is_reported_by_name()
    {
        var found = EtcdBinaries.TryFind(out var binaries, out var error, etcdctlPath: "/nonexistent/etcdctl");

        Assert.That(found, Is.False);
        Assert.That(binaries, Is.Null);
        Assert.That(error!.Executable, Is.EqualTo("etcdctl"));
    }

    [Test]
    public void StartAsync_throws_EtcdNotFoundException_when_etcd_is_missing()
    {
        var options = new EtcdClusterOptions { EtcdPath = "/nonexistent/etcd" };

        Assert.ThrowsAsync<EtcdNotFoundException>(() => EtcdCluster.StartAsync(options));
    }
}
