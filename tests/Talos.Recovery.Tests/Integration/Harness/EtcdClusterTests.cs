using System.Text;
using Talos.Recovery.Testing.Etcd;

namespace Talos.Recovery.Tests.Integration.Harness;

/// <summary>The etcd harness against real etcd processes: start, health, ports, directories, members, restart.</summary>
[TestFixture]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EtcdClusterTests
{
    [OneTimeSetUp]
    public void RequireEtcd() => EtcdRequirement.Require();

    [Test]
    public async Task A_single_member_is_healthy_on_loopback_with_its_data_under_the_temp_directory()
    {
        await using var etcd = await EtcdCluster.StartAsync();
        var member = etcd.Members.Single();

        var status = await etcd.Client.GetStatusAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(member.ClientUrl.Host, Is.EqualTo("127.0.0.1"));
            Assert.That(member.ClientPort, Is.Not.EqualTo(member.PeerPort));
            Assert.That(member.ClientPort, Is.Not.EqualTo(2379), "ports are chosen at run time, not etcd's defaults");
            Assert.That(etcd.RootDirectory, Does.StartWith(Path.GetTempPath()));
            Assert.That(member.DataDirectory, Does.StartWith(etcd.RootDirectory));
            Assert.That(File.Exists(member.DatabasePath), Is.True, "member/snap/db exists");
            Assert.That(Directory.Exists(member.WalDirectory), Is.True, "member/wal exists");
            Assert.That(status.Leader, Is.EqualTo(status.MemberId), "a single member leads itself");
            Assert.That(member.MemberId, Is.EqualTo(status.MemberId));
            Assert.That(status.Version, Does.StartWith("3."));
            Assert.That(etcd.Endpoints, Is.EqualTo($"127.0.0.1:{member.ClientPort}"));
        }
    }

    [Test]
    public async Task The_cluster_directory_is_created_under_the_configured_base_directory()
    {
        var baseDirectory = Path.Combine(Path.GetTempPath(), "talos-recovery-base-" + Guid.NewGuid().ToString("N"));
        try
        {
            string root;
            await using (var etcd = await EtcdCluster.StartAsync(new EtcdClusterOptions { BaseDirectory = baseDirectory }))
            {
                root = etcd.RootDirectory;
                Assert.That(Path.GetDirectoryName(root), Is.EqualTo(baseDirectory));
                Assert.That(File.GetUnixFileMode(root), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
            }

            Assert.That(Directory.Exists(root), Is.False, "dispose deletes the cluster directory");
        }
        finally
        {
            Directory.Delete(baseDirectory, recursive: true);
        }
    }

    [Test]
    public async Task Dispose_leaves_no_etcd_process_and_no_directory_behind()
    {
        var etcd = await EtcdCluster.StartAsync(new EtcdClusterOptions { MemberCount = 2 });
        var pids = etcd.Members.Select(m => m.ProcessId!.Value).ToArray();
        var root = etcd.RootDirectory;
        Assert.That(pids.All(ProcessProbe.IsEtcd), Is.True, "the PIDs the harness reports are the etcd processes themselves");

        await etcd.DisposeAsync();

        using (Assert.EnterMultipleScope())
        {
            foreach (var pid in pids)
            {
                Assert.That(ProcessProbe.IsAlive(pid), Is.False, $"etcd {pid} is gone");
            }

            Assert.That(Directory.Exists(root), Is.False);
            Assert.That(etcd.Members.All(m => !m.IsRunning && m.ProcessId is null), Is.True);
        }
    }

    [Test]
    public async Task Three_members_elect_one_leader_and_replicate_writes()
    {
        await using var etcd = await EtcdCluster.StartAsync(new EtcdClusterOptions { MemberCount = 3 });
        await etcd.Client.PutAsync("/replicated", "yes");

        var statuses = new List<EtcdMemberStatus>();
        for (var i = 0; i < 3; i++)
        {
            statuses.Add(await etcd.CreateClient(i).GetStatusAsync());
        }

        var fromThird = await etcd.CreateClient(2).GetAsync("/replicated");
        var members = await etcd.Client.GetMembersAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(statuses.Select(s => s.Leader).Distinct().Count(), Is.EqualTo(1), "all members agree on the leader");
            Assert.That(statuses[0].Leader, Is.Not.Zero);
            Assert.That(statuses.Select(s => s.MemberId).Distinct().Count(), Is.EqualTo(3));
            Assert.That(fromThird?.ValueString, Is.EqualTo("yes"));
            Assert.That(members.Select(m => m.Name), Is.EquivalentTo(new[] { "m0", "m1", "m2" }));
            Assert.That(etcd.Endpoints.Split(','), Has.Length.EqualTo(3));
        }
    }

    [Test]
    public async Task A_stopped_cluster_starts_again_with_its_data()
    {
        await using var etcd = await EtcdCluster.StartAsync();
        await etcd.Client.PutAsync("/survives", "restart");
        var port = etcd.Members[0].ClientPort;

        await etcd.StopAsync();
        Assert.That(etcd.Members[0].IsRunning, Is.False);
        Assert.That(etcd.Members[0].ExitCode, Is.Not.Null);
        await etcd.StartStoppedMembersAsync();

        var value = await etcd.Client.GetAsync("/survives");
        Assert.That(value?.ValueString, Is.EqualTo("restart"));
        Assert.That(etcd.Members[0].ClientPort, Is.EqualTo(port));
    }

    [Test]
    public async Task Many_clusters_started_at_once_get_distinct_ports()
    {
        var clusters = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => EtcdCluster.StartAsync()));
        try
        {
            var ports = clusters.SelectMany(c => c.Members).SelectMany(m => new[] { m.ClientPort, m.PeerPort }).ToList();
            Assert.That(ports, Is.Unique);
            foreach (var cluster in clusters)
            {
                Assert.That((await cluster.Client.GetStatusAsync()).Leader, Is.Not.Zero);
            }
        }
        finally
        {
            foreach (var cluster in clusters)
            {
                await cluster.DisposeAsync();
            }
        }
    }

    [Test]
    public async Task Extra_arguments_and_limits_reach_etcd()
    {
        await using var etcd = await EtcdCluster.StartAsync(new EtcdClusterOptions
        {
            MaxRequestBytes = 3 * 1024 * 1024,
            QuotaBackendBytes = 64L * 1024 * 1024,
            ExtraArguments = { "--snapshot-count=5000" },
        });

        var big = new byte[2 * 1024 * 1024];
        Random.Shared.NextBytes(big);
        await etcd.Client.PutAsync(Encoding.UTF8.GetBytes("/big"), big);
        var back = await etcd.Client.GetAsync(Encoding.UTF8.GetBytes("/big"));

        Assert.That(back!.Value.ToArray(), Is.EqualTo(big), "a 2 MiB value passes a raised --max-request-bytes");
        Assert.That(etcd.Members[0].Arguments, Does.Contain("--snapshot-count=5000"));
        Assert.That(etcd.Members[0].Arguments, Does.Contain("--quota-backend-bytes=67108864"));
    }

    [Test]
    public async Task A_member_that_cannot_start_fails_with_its_log()
    {
        var options = new EtcdClusterOptions { ExtraArguments = { "--no-such-flag" }, StartTimeout = TimeSpan.FromSeconds(20) };

        var ex = Assert.ThrowsAsync<EtcdStartException>(() => EtcdCluster.StartAsync(options));

        Assert.That(ex!.LogTail, Does.Contain("no-such-flag"));
        Assert.That(ex.Message, Does.Contain("exited"));
    }

    [Test]
    public async Task The_member_log_file_receives_etcd_output()
    {
        await using var etcd = await EtcdCluster.StartAsync();
        var member = etcd.Members[0];

        Assert.That(File.Exists(member.LogPath), Is.True);
        Assert.That(member.GetLogTail(), Is.Not.Empty);
        await Task.CompletedTask;
    }
}

/// <summary>The retry on "address already in use": provoked with a metrics URL on a port this test holds.</summary>
[TestFixture]
public sealed class EtcdPortCollisionTests
{
    [Test]
    public void A_bind_collision_is_retried_with_new_ports_up_to_PortAttempts_times()
    {
        EtcdRequirement.Require();
        using var occupied = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        occupied.Start();
        var port = ((System.Net.IPEndPoint)occupied.LocalEndpoint).Port;
        var logs = new CapturingLoggerFactory();
        var options = new EtcdClusterOptions
        {
            PortAttempts = 3,
            LoggerFactory = logs,
            ExtraArguments = { $"--listen-metrics-urls=http://127.0.0.1:{port}" },
        };

        var ex = Assert.ThrowsAsync<EtcdStartException>(() => EtcdCluster.StartAsync(options));

        Assert.That(ex!.LogTail, Does.Contain("address already in use"));
        Assert.That(logs.EventIds.Count(id => id == 9003), Is.EqualTo(2), "two retries after the first attempt");
    }

    private sealed class CapturingLoggerFactory : Microsoft.Extensions.Logging.ILoggerFactory, Microsoft.Extensions.Logging.ILogger
    {
        private readonly List<int> _eventIds = [];

        public IReadOnlyList<int> EventIds
        {
            get
            {
                lock (_eventIds)
                {
                    return [.. _eventIds];
                }
            }
        }

        public void AddProvider(Microsoft.Extensions.Logging.ILoggerProvider provider)
        {
        }

        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_eventIds)
            {
                _eventIds.Add(eventId.Id);
            }
        }

        public void Dispose()
        {
        }
    }
}
