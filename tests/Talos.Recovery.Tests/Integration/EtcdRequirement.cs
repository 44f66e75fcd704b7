using Talos.Recovery.Testing.Etcd;

namespace Talos.Recovery.Tests.Integration;

/// <summary>What a test does when etcd is not installed.</summary>
internal enum MissingEtcdAction
{
    /// <summary>etcd is installed: run the test.</summary>
    Run,

    /// <summary>Not installed, not in CI: ignore the test with the install hint.</summary>
    Ignore,

    /// <summary>Not installed under CI=true: fail the test.</summary>
    Fail,
}

/// <summary>
/// The gate every real-etcd test goes through. Under <c>CI=true</c> a missing etcd is a failure, never a skip;
/// on a developer machine the test is ignored with the install hint.
/// </summary>
internal static class EtcdRequirement
{
    /// <summary>Whether the run is a CI run (<c>CI=true</c> or <c>CI=1</c>, as CI systems set it).</summary>
    internal static bool IsCi
    {
        get
        {
            var value = Environment.GetEnvironmentVariable("CI");
            return string.Equals(value, "true", StringComparison.OrdinalIgnoreCase) || value == "1";
        }
    }

    /// <summary>The decision, separated from NUnit so it can be tested.</summary>
    internal static MissingEtcdAction Decide(bool found, bool isCi) => found ? MissingEtcdAction.Run : isCi ? MissingEtcdAction.Fail : MissingEtcdAction.Ignore;

    /// <summary>Returns the etcd executables, or fails (CI) / ignores (otherwise) the current test.</summary>
    internal static EtcdBinaries Require()
    {
        var found = EtcdBinaries.TryFind(out var binaries, out var error);
        switch (Decide(found, IsCi))
        {
            case MissingEtcdAction.Run:
                return binaries!;
            case MissingEtcdAction.Fail:
                Assert.Fail("CI=true and etcd is missing, so this is a failure, not a skip. " + error!.Message);
                break;
            default:
                Assert.Ignore(error!.Message);
                break;
        }

        throw new InvalidOperationException("unreachable");
    }
}
