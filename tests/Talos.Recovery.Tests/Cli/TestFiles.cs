using System.IO.Compression;

namespace Talos.Recovery.Tests.Cli;

/// <summary>
/// Finds the test data committed beside the tests (the test project does not copy it to its output), and makes
/// throwaway copies of fixtures in a temporary folder.
/// </summary>
internal static class TestFiles
{
    private static readonly Lazy<string> TestProjectDirectory = new(FindTestProjectDirectory);

    /// <summary>The full path of a file under tests/Talos.Recovery.Tests, given relative to it.</summary>
    public static string Path(params string[] relative) =>
        System.IO.Path.Combine([TestProjectDirectory.Value, .. relative]);

    /// <summary>Decompresses Cli/TestData/<paramref name="name"/>.gz into <paramref name="directory"/>; returns the path.</summary>
    public static string Decompress(string name, string directory)
    {
        var target = System.IO.Path.Combine(directory, name);
        using var source = new GZipStream(File.OpenRead(Path("Cli", "TestData", name + ".gz")), CompressionMode.Decompress);
        using var output = File.Create(target);
        source.CopyTo(output);
        return target;
    }

    /// <summary>A fresh empty folder under the system temporary folder.</summary>
    public static string CreateTemporaryDirectory() => Directory.CreateTempSubdirectory("talos-recovery-tests-").FullName;

    private static string FindTestProjectDirectory()
    {
        for (var directory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = System.IO.Path.Combine(directory.FullName, "tests", "Talos.Recovery.Tests");
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "Talos.Recovery.sln")) && Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"Cannot find tests/Talos.Recovery.Tests above {TestContext.CurrentContext.TestDirectory}; run the tests from the source tree.");
    }
}
