namespace Talos.Recovery.Snapshots;

/// <summary>
/// Reads the user key out of an <c>mvccpb.KeyValue</c> (1 key bytes, 2 create_revision, 3 mod_revision,
/// 4 version, 5 value bytes, 6 lease) without allocating, validating the whole message's framing as etcd 3.6's
/// unmarshal does.
/// </summary>
internal static class MvccKeyValue
{
    public static bool TryGetKey(ReadOnlySpan<byte> message, out int keyStart, out int keyLength, out string? error)
    {
        keyStart = 0;
        keyLength = 0;
        error = null;
        var position = 0;
        while (position < message.Length)
        {
            if (!TryReadVarint(message, ref position, out var tag))
            {
                error = "truncated field tag";
                return false;
            }

            var field = tag >> 3;
            var wireType = (int)(tag & 7);
            if (field == 0)
            {
                error = "field number 0";
                return false;
            }

            switch (wireType)
            {
                case 0:
                    if (!TryReadVarint(message, ref position, out _))
                    {
                        error = $"truncated varint in field {field}";
                        return false;
                    }

                    if (field is 1 or 5)
                    {
                        error = $"field {field} has wire type varint, expected bytes";
                        return false;
                    }

                    break;
                case 2:
                    if (!TryReadVarint(message, ref position, out var length) || length > (ulong)(message.Length - position))
                    {
                        error = $"bad length in field {field}";
                        return false;
                    }

                    if (field == 1)
                    {
                        keyStart = position;
                        keyLength = (int)length;
                    }
                    else if (field is >= 2 and <= 4 or 6)
                    {
                        error = $"field {field} has wire type bytes, expected varint";
                        return false;
                    }

                    position += (int)length;
                    break;
                case 1:
                    if (message.Length - position < 8 || field <= 6)
                    {
                        error = $"bad fixed64 field {field}";
                        return false;
                    }

                    position += 8;
                    break;
                case 5:
                    if (message.Length - position < 4 || field <= 6)
                    {
                        error = $"bad fixed32 field {field}";
                        return false;
                    }

                    position += 4;
                    break;
                default:
                    error = $"illegal wire type {wireType} in field {field}";
                    return false;
            }
        }

        return true;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> data, ref int position, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= data.Length)
            {
                return false;
            }

            var b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }
}
