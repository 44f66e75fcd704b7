using Talos.Recovery.Tests.Client.Etcd;

namespace Talos.Recovery.Tests.Tls;

/// <summary>
/// One capturing logger factory for the TLS tests' servers and clients; <see cref="PrintIfFailed"/> writes what was
/// logged during a failed test to its output.
/// </summary>
internal static class TestLogs
{
    public static CapturingLoggerFactory Factory { get; } = new();

    public static void Clear() => Factory.Entries.Clear();

    public static void PrintIfFailed()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status != NUnit.Framework.Interfaces.TestStatus.Failed)
        {
            return;
        }

        foreach ((Microsoft.Extensions.Logging.EventId eventId, Microsoft.Extensions.Logging.LogLevel level, string message) in Factory.Entries)
        {
            TestContext.Out.WriteLine($"{level} {eventId.Id} {message}");
        }
    }
}
