using System.Text;
using Talos.Recovery.Bolt;
using Talos.Recovery.Snapshots;

namespace Talos.Recovery.Tests.Snapshots;

public unsafe class LiveKeySetTests
{
    [Test]
    public void Counts_puts_minus_deletes_exactly_against_a_reference_set()
    {
        // Keys live in one buffer, addressed by offset, as they do in a mapped snapshot.
        const int distinct = 5000;
        var keys = Enumerable.Range(0, distinct).Select(i => Encoding.ASCII.GetBytes($"/registry/pods/ns/p{i}")).ToArray();
        var buffer = keys.SelectMany(k => k).ToArray();
        var offsets = new long[distinct];
        for (var i = 1; i < distinct; i++)
        {
            offsets[i] = offsets[i - 1] + keys[i - 1].Length;
        }

        fixed (byte* pointer = buffer)
        {
            var set = new LiveKeySet(new BoltMemory(pointer, buffer.Length));
            var reference = new HashSet<string>();
            var random = new Random(3);
            for (var step = 0; step < 60_000; step++)
            {
                var i = random.Next(distinct);
                var key = buffer.AsSpan((int)offsets[i], keys[i].Length);
                // Both forms: with the key's bytes, and with a precomputed hash (the writer's stream summaries).
                var hashed = (step & 1) == 0;
                if (random.Next(3) == 0)
                {
                    if (hashed)
                    {
                        set.Remove(LiveKeySet.Hash(key), offsets[i], key.Length);
                    }
                    else
                    {
                        set.Remove(key, offsets[i]);
                    }

                    reference.Remove(Encoding.ASCII.GetString(key));
                }
                else
                {
                    if (hashed)
                    {
                        set.Add(LiveKeySet.Hash(key), offsets[i], key.Length);
                    }
                    else
                    {
                        set.Add(key, offsets[i]);
                    }

                    reference.Add(Encoding.ASCII.GetString(key));
                }

                if (step % 1000 == 0)
                {
                    Assert.That(set.Count, Is.EqualTo(reference.Count), $"after step {step}");
                }
            }

            Assert.That(set.Count, Is.EqualTo(reference.Count));
            var listed = set.Keys().Select(k => Encoding.ASCII.GetString(buffer, (int)k.Offset, k.Length)).ToHashSet();
            Assert.That(listed, Is.EquivalentTo(reference));
        }
    }
}
