using System.Globalization;
using System.Text;
using Talos.Recovery.Cli.CommandLine;
using Talos.Recovery.Client;

namespace Talos.Recovery.Cli.Commands;

/// <summary>
/// talosctl's global flags (<c>-n/--nodes</c>, <c>-e/--endpoints</c>, <c>--talosconfig</c>, <c>--context</c>), defined
/// once on the root and inherited by every command, and the helpers the Talos verbs share: creating the client, choosing
/// the nodes, fanning a call out and printing tables the way talosctl's tabwriter does.
/// </summary>
internal static class TalosFlags
{
    public static readonly CliOption Nodes = new("nodes", 'n', "target nodes (default: the context's nodes)", "strings") { Repeatable = true, SplitCommas = true, Inherited = true };

    public static readonly CliOption Endpoints = new("endpoints", 'e', "override the context's endpoints (host[:port], default port 50000)", "strings") { Repeatable = true, SplitCommas = true, Inherited = true };

    public static readonly CliOption TalosConfigPath = new("talosconfig", null, "the talosconfig file (default: $TALOSCONFIG, then ~/.talos/config)", "string") { Inherited = true };

    public static readonly CliOption Context = new("context", null, "the talosconfig context to use (default: the current one)", "string") { Inherited = true };

    public static void AddTo(CliCommand root) => root.Add(Nodes).Add(Endpoints).Add(TalosConfigPath).Add(Context);

    /// <summary>Whether any of the global flags was given.</summary>
    public static bool AnyGiven(CliInvocation invocation) =>
        invocation.ParseResult.IsSet(Nodes) || invocation.ParseResult.IsSet(Endpoints) || invocation.ParseResult.IsSet(TalosConfigPath) || invocation.ParseResult.IsSet(Context);

    /// <summary>A client for the chosen talosconfig and context, with <c>--endpoints</c> applied.</summary>
    public static TalosClient CreateClient(CliInvocation invocation)
    {
        var parse = invocation.ParseResult;
        var endpoints = parse.GetValues(Endpoints);
        var options = new TalosClientOptions
        {
            Endpoints = endpoints.Count == 0 ? null : endpoints.Select(ParseEndpoint).ToList(),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        return TalosClient.Create(options, parse.GetValue(Context), parse.GetValue(TalosConfigPath));

        TalosEndpoint ParseEndpoint(string text) => TalosEndpoint.TryParse(text, out var endpoint)
            ? endpoint
            : throw new CliUsageException($"invalid endpoint \"{text}\" for --endpoints", invocation.Command);
    }

    /// <summary>The target nodes: <c>--nodes</c>, else the context's nodes; empty means "the endpoint itself".</summary>
    public static IReadOnlyList<string> GetNodes(CliInvocation invocation, TalosClient client)
    {
        var nodes = invocation.ParseResult.GetValues(Nodes);
        return nodes.Count > 0 ? nodes : client.Context.Nodes;
    }

    /// <summary>
    /// The one node a single-node command targets (<see langword="null"/>: the endpoint itself, when neither
    /// <c>--nodes</c> nor the context names any). Several nodes are a usage error (exit 2), with talosctl's message.
    /// </summary>
    public static string? GetSingleNode(CliInvocation invocation, TalosClient client, string commandName)
    {
        var nodes = GetNodes(invocation, client);
        return nodes.Count switch
        {
            0 => null,
            1 => nodes[0],
            _ => throw new CliUsageException($"command \"{commandName}\" requires exactly one node (got {nodes.Count})", invocation.Command),
        };
    }

    /// <summary>
    /// Runs <paramref name="call"/> on every target node in parallel (talosctl 1.14's client-side fan-out), prints the
    /// successes with <paramref name="print"/> in node order, then one <c>error: node N: …</c> line per failed node on
    /// stderr. Exit 1 when any node failed.
    /// </summary>
    public static async Task<int> FanOutAsync<T>(
        CliInvocation invocation,
        TalosClient client,
        Func<string?, CancellationToken, Task<T>> call,
        Action<IReadOnlyList<(string Node, T Value)>> print,
        CancellationToken cancellationToken)
    {
        var nodes = GetNodes(invocation, client);
        if (nodes.Count == 0)
        {
            // No node named anywhere: the endpoint answers for itself; a failure is the command's error.
            var value = await call(null, cancellationToken).ConfigureAwait(false);
            print([((client.Options.Endpoints ?? client.Context.Endpoints)[0].Host, value)]);
            return ExitCodes.Success;
        }

        var results = await client.ForEachNodeAsync(nodes, (node, ct) => call(node, ct), cancellationToken).ConfigureAwait(false);
        print(results.Where(r => r.Succeeded).Select(r => (r.Node, r.Value!)).ToList());
        var failed = 0;
        foreach (var result in results.Where(r => !r.Succeeded))
        {
            failed++;
            invocation.WriteErrorLine($"error: node {result.Node}: {OneLine(result.Error!.Message)}");
        }

        return failed == 0 ? ExitCodes.Success : ExitCodes.Failure;
    }

    public static string OneLine(string text) => text.ReplaceLineEndings(" ");

    /// <summary>Writes rows as talosctl's tabwriter does (columns padded to the widest cell plus three spaces).</summary>
    public static void WriteTable(CliInvocation invocation, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = new List<IReadOnlyList<string>> { header };
        all.AddRange(rows);
        var widths = new int[header.Count];
        foreach (var row in all)
        {
            for (var i = 0; i < row.Count; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        foreach (var row in all)
        {
            var line = new StringBuilder();
            for (var i = 0; i < row.Count; i++)
            {
                line.Append(i == row.Count - 1 ? row[i] : row[i].PadRight(widths[i] + 3));
            }

            invocation.WriteLine(line.ToString().TrimEnd());
        }
    }

    public static string Hex16(ulong value) => value.ToString("x16", CultureInfo.InvariantCulture);

    public static string Number(ulong value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Bool(bool value) => value ? "true" : "false";

    /// <summary>Bytes in SI units as go-humanize's <c>Bytes</c> prints them (<c>20 kB</c>, <c>1.2 MB</c>).</summary>
    public static string HumanBytes(long bytes)
    {
        if (bytes < 10)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{bytes} B");
        }

        string[] units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
        var e = (int)Math.Floor(Math.Log(bytes) / Math.Log(1000));
        var value = Math.Floor(bytes / Math.Pow(1000, e) * 10 + 0.5) / 10;
        return string.Format(CultureInfo.InvariantCulture, value < 10 ? "{0:0.0} {1}" : "{0:0} {1}", value, units[e]);
    }

    /// <summary>A duration the way Go's <c>time.Duration.String</c> prints a whole number of seconds (<c>2m5s</c>, <c>1h0m0s</c>).</summary>
    public static string GoDuration(TimeSpan duration)
    {
        var seconds = (long)Math.Round(Math.Max(0, duration.TotalSeconds));
        if (seconds == 0)
        {
            return "0s";
        }

        var h = seconds / 3600;
        var m = seconds % 3600 / 60;
        var s = seconds % 60;
        return h > 0 ? string.Create(CultureInfo.InvariantCulture, $"{h}h{m}m{s}s")
            : m > 0 ? string.Create(CultureInfo.InvariantCulture, $"{m}m{s}s")
            : string.Create(CultureInfo.InvariantCulture, $"{s}s");
    }
}
