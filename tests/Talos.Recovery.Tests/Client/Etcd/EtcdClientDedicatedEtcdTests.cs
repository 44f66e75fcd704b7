using Google.Protobuf;
using Talos.Recovery.Api.Etcd;
using Talos.Recovery.Client.Etcd;

namespace Talos.Recovery.Tests.Client.Etcd;

/// <summary>Tests that kill or change their etcd, so each gets its own process (killed in TearDown even on failure).</summary>
[TestFixture]
[CancelAfter(120_000)]
public class EtcdClientDedicatedEtcdTests
{
    private readonly List<EtcdTestProcess> _started = [];

    [TearDown]
    public async Task KillEtcd()
    {
        foreach (EtcdTestProcess etcd in _started)
        {
            await etcd.DisposeAsync();
        }

        _started.Clear();
    }

    [Test]
    public async Task Etcd_killed_mid_stream_makes_the_snapshot_throw_instead_of_ending_quietly()
    {
        EtcdTestProcess etcd = await StartAsync();
        using var client = new EtcdClient(etcd.ClientUrl);
        // ~24 MiB: far more than HTTP/2 flow control lets the server send ahead while the consumer pauses.
        var random = new Random(7);
        var value = new byte[1024 * 1024];
        for (int i = 0; i < 24; i++)
        {
            random.NextBytes(value);
            await client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8($"/big/{i}"), Value = ByteString.CopyFrom(value) });
        }

        EtcdStatus status = await client.StatusAsync();
        long received = 0;
        var ex = Assert.ThrowsAsync<EtcdClientException>(async () =>
        {
            await foreach (ReadOnlyMemory<byte> chunk in client.SnapshotAsync())
            {
                if (received == 0)
                {
                    etcd.Kill(); // SIGKILL while the stream is open
                }

                received += chunk.Length;
            }
        });
        TestContext.Out.WriteLine(ex?.Message);

        Assert.Multiple(() =>
        {
            Assert.That(received, Is.Positive.And.LessThan(status.DbSize));
            Assert.That(ex!.Endpoint, Is.EqualTo(new Uri(etcd.ClientUrl)));
            Assert.That(ex.StatusCode, Is.Not.EqualTo(Grpc.Core.StatusCode.OK));
            Assert.That(ex.Message, Does.Contain("snapshot stream").And.Contain("failed after"));
            Assert.That(ex, Is.Not.InstanceOf<EtcdUnavailableException>(), "a stream that delivered bytes is never retried");
        });
    }

    [Test]
    public async Task An_activated_alarm_is_listed_like_etcdctl_lists_it()
    {
        EtcdTestProcess etcd = await StartAsync();
        using var client = new EtcdClient(etcd.ClientUrl);
        EtcdStatus before = await client.StatusAsync();

        await client.AlarmAsync(new AlarmRequest
        {
            Action = AlarmRequest.Types.AlarmAction.Activate,
            MemberID = before.MemberId,
            Alarm = AlarmType.Nospace,
        });
        IReadOnlyList<EtcdAlarm> alarms = await client.AlarmListAsync();
        EtcdStatus after = await client.StatusAsync();
        string etcdctl = await etcd.EtcdctlAsync("alarm", "list");

        Assert.Multiple(() =>
        {
            Assert.That(alarms, Is.EqualTo(new[] { new EtcdAlarm(before.MemberId, EtcdAlarmType.NoSpace) }));
            Assert.That(etcdctl, Does.Contain($"memberID:{before.MemberId} alarm:NOSPACE"));
            Assert.That(after.Errors, Has.Some.Contain("NOSPACE"));
        });
    }

    private async Task<EtcdTestProcess> StartAsync()
    {
        EtcdTestProcess etcd = await EtcdTestProcess.StartAsync();
        _started.Add(etcd);
        return etcd;
    }
}
