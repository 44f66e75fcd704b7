using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Tests.Snapshots;

public class EtcdRecordTests
{
    [Test]
    public void Reads_the_user_key_of_a_put_record()
    {
        // key=foo, create 2, mod 2, version 1, value=bar (spec §5.2).
        var record = Convert.FromHexString("0a03666f6f1002180220012a03626172");
        Assert.Multiple(() =>
        {
            Assert.That(MvccKeyValue.TryGetKey(record, out var start, out var length, out var error), Is.True, error);
            Assert.That(record.AsSpan(start, length).ToArray(), Is.EqualTo("foo"u8.ToArray()));
        });
    }

    [Test]
    public void Reads_the_user_key_of_a_tombstone_record()
    {
        var record = Convert.FromHexString("0a0362617a");
        Assert.That(MvccKeyValue.TryGetKey(record, out var start, out var length, out _), Is.True);
        Assert.That(record.AsSpan(start, length).ToArray(), Is.EqualTo("baz"u8.ToArray()));
    }

    [TestCase("0a05666f6f", TestName = "Length beyond the end")]
    [TestCase("0a", TestName = "Missing length")]
    [TestCase("08ffffffffffffffffffff01", TestName = "Varint longer than 64 bits")]
    [TestCase("0f00", TestName = "Illegal wire type")]
    [TestCase("1203666f6f", TestName = "Revision field with wire type bytes")]
    public void Rejects_malformed_records(string hex)
        => Assert.That(MvccKeyValue.TryGetKey(Convert.FromHexString(hex), out _, out _, out var error), Is.False, error);

    [TestCase("3.6.0", "3.6.0")]
    [TestCase("3.6.1-rc.0", "3.6.1-rc.0")]
    [TestCase("3.6", "")]
    [TestCase("v3.6.0", "")]
    [TestCase("", "")]
    [TestCase(null, "")]
    public void Storage_version_is_reported_only_when_it_is_semver(string? raw, string expected)
        => Assert.That(SnapshotFile.ParseStorageVersion(raw), Is.EqualTo(expected));
}
