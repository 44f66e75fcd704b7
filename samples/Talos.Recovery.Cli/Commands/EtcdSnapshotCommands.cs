using System.Globalization;
using System.Text.RegularExpressions;
using Talos.Recovery.Cli.CommandLine;
using Talos.Recovery.Client.Etcd;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Cli.Commands;

/// <summary><c>talos-recovery etcd snapshot save</c>: take a snapshot straight from etcd, shaped like etcdctl's verb.</summary>
internal static partial class EtcdSnapshotCommands
{
    private static readonly CliArgument File = new("FILE", "where to write the snapshot (written as FILE.part, verified, then renamed)");

    private static readonly CliOption Endpoints = new("endpoints", null, "etcd client endpoints, tried in order (https://10.0.0.2:2379 or host:port)", "urls") { Repeatable = true, SplitCommas = true };

    private static readonly CliOption CaCert = new("cacert", null, "verify the servers' certificates with this CA bundle (PEM)", "file");

    private static readonly CliOption Cert = new("cert", null, "client certificate (PEM)", "file");

    private static readonly CliOption Key = new("key", null, "private key of --cert (PEM)", "file");

    private static readonly CliOption User = new("user", null, "etcd user, as NAME or NAME:PASSWORD", "name[:password]");

    private static readonly CliOption Password = new("password", null, "password of --user (when --user holds no colon)", "password");

    private static readonly CliOption Overwrite = new("overwrite", null, "replace FILE when it exists (by default an existing FILE is an error)");

    private static readonly CliOption InactivityTimeout = new("inactivity-timeout", null, "fail when etcd sends no byte for this long (Go duration: 30s, 2m, 1m30s; 0 disables)", "duration") { DefaultValue = "30s" };

    public static CliCommand Create()
    {
        var etcd = new CliCommand("etcd", "etcd on Talos nodes (members, status, snapshot) and directly (snapshot save)")
        {
            Description = """
                etcd commands. `etcd members`, `etcd status` and `etcd snapshot FILE` go through the Talos machine API
                (talosctl's verbs; targets from --nodes/--endpoints/--talosconfig/--context). `etcd snapshot save FILE
                --endpoints URL` talks to etcd members directly over the etcd v3 API, the way etcdctl does.
                """,
        };

        var snapshot = new CliCommand("snapshot", "Take a snapshot through Talos (FILE) or directly from etcd (save FILE)")
        {
            Description = """
                Two ways to take an etcd snapshot:

                  etcd snapshot FILE          through the Talos API, as `talosctl etcd snapshot FILE`: exactly one node
                                              (-n NODE, or the context's only node), EtcdSnapshot streamed to FILE.part,
                                              the SHA-256 trailer and bbolt structure verified, renamed to FILE; prints
                                              talosctl's two lines: etcd snapshot saved to "FILE" (N bytes) and
                                              snapshot info: hash %08x, revision %d, total keys %d, total size %d.
                  etcd snapshot save FILE     straight from etcd's client API, as `etcdctl snapshot save` (its own
                                              --endpoints URL and TLS/user flags; see `etcd snapshot save --help`).

                A FILE literally named "save" is written as ./save. To check a snapshot file offline, see `talos-recovery snapshot`.
                """,
            Examples = """
                talos-recovery -n 10.5.0.2 etcd snapshot db.snapshot
                talos-recovery --talosconfig ./talosconfig -n 10.5.0.2 etcd snapshot /backups/db.snapshot
                talos-recovery etcd snapshot save db.snapshot --endpoints https://10.5.0.2:2379 --cacert ca.crt --cert c.crt --key c.key
                """,
            Handler = TalosCommands.EtcdSnapshotAsync,
        };

        snapshot.Add(new CliCommand("save", "Stream a snapshot from etcd to FILE, verify it and print its status")
        {
            Description = """
                Stream a snapshot of the backend database of the first reachable etcd member to FILE. Shaped like
                `etcdctl snapshot save` and, like it, talks to etcd directly over its client API (--endpoints, TLS and
                user flags); `etcd snapshot FILE` (without `save`) goes through the Talos API instead.
                The bytes go to FILE.part; only a complete snapshot whose SHA-256 trailer and bbolt structure check out
                is renamed to FILE. On failure nothing is left behind and an existing FILE is untouched.
                Prints `Snapshot saved at FILE` and then the status line talosctl prints
                (`snapshot info: hash …, revision …, total keys …, total size …`).
                With authentication enabled, etcd only lets users with the root role take snapshots.
                """,
            Examples = """
                talos-recovery etcd snapshot save db.snapshot --endpoints 127.0.0.1:2379
                talos-recovery etcd snapshot save db.snapshot --endpoints https://10.0.0.2:2379 --cacert ca.crt --cert client.crt --key client.key
                talos-recovery etcd snapshot save db.snapshot --endpoints 127.0.0.1:2379 --user root:secret --overwrite
                """,
            Handler = SaveAsync,
        }.Add(File).Add(Endpoints).Add(CaCert).Add(Cert).Add(Key).Add(User).Add(Password).Add(Overwrite).Add(InactivityTimeout));

        snapshot.Add(new CliArgument("FILE", "where to write the snapshot taken through Talos (FILE.part, verified, renamed)"));
        etcd.Add(snapshot);
        TalosCommands.AddEtcdVerbs(etcd);
        return etcd;
    }

    private static async Task<int> SaveAsync(CliInvocation invocation, CancellationToken cancellationToken)
    {
        var parse = invocation.ParseResult;
        var destination = invocation.Arguments[0];
        var endpoints = parse.GetValues(Endpoints).Where(e => e.Length > 0).ToList();
        if (endpoints.Count == 0)
        {
            throw new CliUsageException("--endpoints is required", invocation.Command);
        }

        var timeout = ParseDuration(parse.GetValue(InactivityTimeout) ?? "30s", invocation.Command);

        var clientOptions = new EtcdClientOptions
        {
            CaCertificateFile = parse.GetValue(CaCert),
            ClientCertificateFile = parse.GetValue(Cert),
            ClientKeyFile = parse.GetValue(Key),
        };
        foreach (var endpoint in endpoints)
        {
            clientOptions.Endpoints.Add(endpoint);
        }

        if (parse.GetValue(Key) is not null && parse.GetValue(Cert) is null)
        {
            throw new CliUsageException("--key needs --cert", invocation.Command);
        }

        if (parse.GetValue(User) is { } user)
        {
            var colon = user.IndexOf(':', StringComparison.Ordinal);
            var password = parse.GetValue(Password);
            if (colon >= 0)
            {
                if (password is not null)
                {
                    throw new CliUsageException("give the password either in --user NAME:PASSWORD or with --password, not both", invocation.Command);
                }

                password = user[(colon + 1)..];
                user = user[..colon];
            }

            if (user.Length == 0)
            {
                throw new CliUsageException("--user needs a user name", invocation.Command);
            }

            clientOptions.Username = user;
            clientOptions.Password = password ?? throw new CliUsageException("--user needs a password: --user NAME:PASSWORD or --password", invocation.Command);
        }
        else if (parse.GetValue(Password) is not null)
        {
            throw new CliUsageException("--password needs --user", invocation.Command);
        }

        var writerOptions = new SnapshotWriterOptions
        {
            Overwrite = parse.GetFlag(Overwrite),
            InactivityTimeout = timeout,

            // The save prints etcdctl's status, which has no live-key count: skip its 16 bytes per key.
            CountLiveKeys = false,

            // A local disk drains 1 MiB writes far faster than etcd streams: 4 MiB of buffer is plenty, and a
            // one-shot command should stay small (peak RSS is a target of the save).
            PauseWriterThreshold = 4 << 20,
            ResumeWriterThreshold = 2 << 20,
        };

        // A progress line only for a person watching a terminal; never in logs or pipes.
        ProgressLine? progressLine = ReferenceEquals(invocation.Error, Console.Error) && !Console.IsErrorRedirected ? new ProgressLine(invocation.Error) : null;

        using var client = new EtcdClient(clientOptions);
        SnapshotInfo info;
        try
        {
            info = await new SnapshotWriter(writerOptions)
                .WriteAsync(destination, client.SnapshotAsync(cancellationToken), progressLine, cancellationToken)
                .ConfigureAwait(false);
        }
        finally
        {
            progressLine?.Clear();
        }

        invocation.WriteLine($"Snapshot saved at {destination}");
        invocation.WriteLine("snapshot info: " + SnapshotStatusFormatter.FormatTalosctl(info.Status));
        return ExitCodes.Success;
    }

    /// <summary>Parses a Go duration (<c>300ms</c>, <c>30s</c>, <c>1m30s</c>, <c>1h</c>); <c>0</c> means no limit.</summary>
    internal static TimeSpan ParseDuration(string text, CliCommand command, string flag = "--inactivity-timeout")
    {
        if (text is "0" or "0s")
        {
            return Timeout.InfiniteTimeSpan;
        }

        var match = DurationPattern().Match(text);
        if (!match.Success || text.Length == 0)
        {
            throw new CliUsageException($"invalid duration \"{text}\" for {flag} (examples: 2s, 500ms, 1m30s, 0 to disable)", command);
        }

        double milliseconds = 0;
        foreach (Capture capture in match.Groups["part"].Captures)
        {
            var part = PartPattern().Match(capture.Value);
            var number = double.Parse(part.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
            milliseconds += number * part.Groups[2].Value switch
            {
                "h" => 3_600_000,
                "m" => 60_000,
                "s" => 1_000,
                "ms" => 1,
                "us" or "µs" => 0.001,
                _ => 0.000001, // ns
            };
        }

        if (milliseconds < 1)
        {
            throw new CliUsageException($"invalid duration \"{text}\" for --inactivity-timeout: must be at least 1ms, or 0 to disable", command);
        }

        return TimeSpan.FromMilliseconds(milliseconds);
    }

    [GeneratedRegex(@"^(?<part>[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)$", RegexOptions.CultureInvariant)]
    private static partial Regex PartPattern();

    /// <summary>One self-overwriting line on a terminal's stderr; the writer already throttles its reports.</summary>
    private sealed class ProgressLine(TextWriter error) : IProgress<SnapshotProgress>
    {
        private readonly Lock _sync = new();
        private int _length;

        public void Report(SnapshotProgress value)
        {
            var text = string.Create(
                CultureInfo.InvariantCulture,
                $"Receiving snapshot: {value.BytesTransferred / 1048576.0:0.0} MiB, {value.BytesPerSecond / 1048576.0:0.0} MiB/s, {value.Elapsed.TotalSeconds:0}s");
            lock (_sync)
            {
                error.Write("\r" + text.PadRight(_length));
                error.Flush();
                _length = text.Length;
            }
        }

        public void Clear()
        {
            lock (_sync)
            {
                if (_length > 0)
                {
                    error.Write("\r" + new string(' ', _length) + "\r");
                    error.Flush();
                    _length = 0;
                }
            }
        }
    }
}
