namespace Talos.Recovery.Bolt;

/// <summary>
/// Stable identifiers of the problems the bbolt checker reports. The numeric values are part of the public
/// contract and never change; new codes are only appended.
/// </summary>
public enum BoltProblemCode
{
    /// <summary>The file is empty.</summary>
    EmptyFile = 1,

    /// <summary>The file is shorter than two pages (or than one meta page).</summary>
    FileTooSmall = 2,

    /// <summary>A meta page does not start with the bbolt magic 0xED0CDAED.</summary>
    MetaInvalidMagic = 3,

    /// <summary>A meta page has a version other than 2.</summary>
    MetaVersionMismatch = 4,

    /// <summary>A meta page's FNV-1a checksum does not match its contents.</summary>
    MetaChecksumMismatch = 5,

    /// <summary>The page size is not a power of two between 512 bytes and 1 MiB.</summary>
    MetaInvalidPageSize = 6,

    /// <summary>The meta page header has the wrong id or flags.</summary>
    MetaInvalidHeader = 7,

    /// <summary>The high-water mark is below 2 or absurdly large.</summary>
    MetaInvalidHighWaterMark = 8,

    /// <summary>The root bucket's page is not below the high-water mark (bbolt does not check this).</summary>
    MetaRootOutOfRange = 9,

    /// <summary>The freelist page is not below the high-water mark (bbolt does not check this).</summary>
    MetaFreelistOutOfRange = 10,

    /// <summary>The two meta pages disagree where they must agree (page size; in streamed snapshots also root, freelist and high-water mark).</summary>
    MetaDisagreement = 11,

    /// <summary>Only one of the two meta pages is valid; the file is readable from the other.</summary>
    MetaOneInvalid = 12,

    /// <summary>The file is shorter than high-water mark × page size: pages are missing (bbolt reads past the end and crashes).</summary>
    FileTruncated = 13,

    /// <summary>A page reached from the tree has an id at or beyond the high-water mark (bbolt: <c>out of bounds</c>).</summary>
    PageOutOfBounds = 14,

    /// <summary>A page id (or one of its overflow ids) is reached twice (bbolt: <c>multiple references</c>).</summary>
    MultipleReferences = 15,

    /// <summary>A page reached from the tree is listed in the freelist (bbolt: <c>reachable freed</c>).</summary>
    ReachableFreed = 16,

    /// <summary>A tree page is neither a branch nor a leaf (bbolt: <c>invalid type</c>).</summary>
    InvalidPageType = 17,

    /// <summary>A page below the high-water mark is neither reachable nor free (bbolt: <c>unreachable unfreed</c>).</summary>
    UnreachableUnfreed = 18,

    /// <summary>A page id appears twice in the freelist (bbolt: <c>already freed</c>).</summary>
    AlreadyFreed = 19,

    /// <summary>A page's header names another id than its position (bbolt ≥ 1.3.7 panics on this).</summary>
    PageIdMismatch = 20,

    /// <summary>A page and its overflow run past the high-water mark or the end of the file.</summary>
    OverflowOutOfRange = 21,

    /// <summary>The element array of a page does not fit inside the page span.</summary>
    ElementArrayOutOfPage = 22,

    /// <summary>An element's key or value lies outside its page span (bbolt reads arbitrary memory).</summary>
    ElementOutOfPage = 23,

    /// <summary>A key is empty (bbolt never writes one).</summary>
    EmptyKey = 24,

    /// <summary>A key is longer than bbolt's MaxKeySize (32768).</summary>
    KeyTooLarge = 25,

    /// <summary>Keys are not strictly ascending inside a page or within the bounds set by the parent branch (bbolt ≥ 1.3.7 key-order checks).</summary>
    KeyOrder = 26,

    /// <summary>A leaf element has flag bits other than the bucket flag.</summary>
    InvalidElementFlags = 27,

    /// <summary>A branch page has no elements.</summary>
    EmptyBranch = 28,

    /// <summary>A bucket entry's value is shorter than the 16-byte bucket header.</summary>
    InvalidBucketHeader = 29,

    /// <summary>An inline bucket's embedded page is malformed (not a leaf, too short, elements outside the value, or a sub-bucket inside it).</summary>
    InvalidInlineBucket = 30,

    /// <summary>The freelist page does not carry the freelist flag (bbolt: <c>invalid freelist page</c>).</summary>
    InvalidFreelistPage = 31,

    /// <summary>The freelist lists an id that is 0, 1 or not below the high-water mark.</summary>
    FreelistIdOutOfRange = 32,

    /// <summary>The freelist's count does not fit inside its page span.</summary>
    FreelistOutOfPage = 33,

    /// <summary>Buckets or branch pages nest deeper than the checker's limit.</summary>
    TreeTooDeep = 34,

    /// <summary>The checker stopped recording problems after reaching its cap.</summary>
    TooManyProblems = 35,

    /// <summary>A top-level key is not a bucket (etcdctl: <c>cannot get hash of bucket</c>).</summary>
    TopLevelNotBucket = 36,

    /// <summary>A key in etcd's <c>key</c> bucket is not a valid revision key (etcdctl crashes on keys shorter than 17 bytes).</summary>
    InvalidRevisionKey = 37,

    /// <summary>A value in etcd's <c>key</c> bucket is not a valid <c>mvccpb.KeyValue</c>.</summary>
    InvalidKeyValue = 38,

    /// <summary>The file has a SHA-256 trailer that does not match its contents.</summary>
    TrailerMismatch = 39,

    /// <summary>The file has no SHA-256 trailer (size % 512 ≠ 32) and the hash check was not skipped.</summary>
    TrailerMissing = 40,

    /// <summary>A streamed snapshot's database part is not exactly high-water mark × page size bytes.</summary>
    TrailerLengthMismatch = 41,

    /// <summary>A page that bbolt writes only at the root of a bucket is empty elsewhere in the tree.</summary>
    EmptyLeaf = 42,

    /// <summary>A value is larger than bbolt's MaxValueSize.</summary>
    ValueTooLarge = 43,

    /// <summary>A bucket entry names a page id that cannot be a bucket root (0 is inline; 1 and 2 are meta ids).</summary>
    InvalidBucketRoot = 44,
}
