using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Talos.Recovery.Client;

/// <summary>A YAML shape problem, with the line it was found on. Internal; wrapped by <see cref="TalosConfig"/>.</summary>
internal sealed class TalosYamlException : Exception
{
    public TalosYamlException(string message, Mark start, string? field = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Line = start.Line;
        Column = start.Column;
        Field = field;
    }

    public long Line { get; }

    public long Column { get; }

    public string? Field { get; }
}

/// <summary>A node of the small YAML tree the talosconfig reader works on.</summary>
internal abstract class YamlTreeNode(Mark start)
{
    public Mark Start { get; } = start;

    public abstract string Kind { get; }
}

/// <summary>A scalar; <see cref="Value"/> is <see langword="null"/> for a plain null (<c>~</c>, <c>null</c>, nothing).</summary>
internal sealed class YamlTreeScalar(Mark start, string? value) : YamlTreeNode(start)
{
    public string? Value { get; } = value;

    public override string Kind => Value is null ? "null" : "a string";
}

internal sealed class YamlTreeSequence(Mark start) : YamlTreeNode(start)
{
    public List<YamlTreeNode> Items { get; } = [];

    public override string Kind => "a list";
}

internal sealed class YamlTreeMapping(Mark start) : YamlTreeNode(start)
{
    public List<KeyValuePair<string, YamlTreeNode>> Entries { get; } = [];

    public override string Kind => "a mapping";

    public YamlTreeNode? this[string key]
    {
        get
        {
            foreach (KeyValuePair<string, YamlTreeNode> entry in Entries)
            {
                if (entry.Key == key)
                {
                    return entry.Value;
                }
            }

            return null;
        }
    }
}

/// <summary>
/// Reads and writes the YAML of a talosconfig with YamlDotNet's event parser and emitter only: no reflection, no
/// type instantiation from tags, nesting depth bounded (a crafted file cannot overflow the stack), aliases resolved
/// to already-built nodes (no expansion, no cycles), duplicate keys refused as Go's yaml.v3 does, and <c>&lt;&lt;</c>
/// merge keys applied as yaml.v3 applies them.
/// </summary>
internal static partial class TalosConfigYaml
{
    /// <summary>Deeper than any talosconfig (which needs 5 levels); deep enough for hand-written extras.</summary>
    public const int MaxDepth = 32;

    private const string MergeKey = "<<";

    /// <summary>Builds the tree of the first YAML document; <see langword="null"/> for an empty stream.</summary>
    /// <exception cref="TalosYamlException">Invalid YAML or a structure the talosconfig reader refuses.</exception>
    public static YamlTreeNode? ReadFirstDocument(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        var anchors = new Dictionary<string, YamlTreeNode>(StringComparer.Ordinal);
        var open = new Stack<OpenCollection>();
        YamlTreeNode? root = null;
        try
        {
            while (parser.MoveNext())
            {
                ParsingEvent current = parser.Current!;
                switch (current)
                {
                    case StreamStart:
                        break;
                    case StreamEnd:
                        return root;
                    case DocumentStart:
                        break;
                    case DocumentEnd:
                        // Like yaml.v3's Decoder.Decode, use the first document and ignore the rest.
                        return root;
                    case Scalar scalar:
                        var node = new YamlTreeScalar(scalar.Start, IsNull(scalar) ? null : scalar.Value);
                        Register(anchors, scalar.Anchor, node);
                        Add(open, node, ref root, scalar);
                        break;
                    case AnchorAlias alias:
                        if (!anchors.TryGetValue(alias.Value.Value, out YamlTreeNode? target))
                        {
                            throw new TalosYamlException($"alias *{alias.Value.Value} refers to no anchor defined before it", alias.Start);
                        }

                        Add(open, target, ref root, alias);
                        break;
                    case SequenceStart sequenceStart:
                        Push(open, new OpenCollection(new YamlTreeSequence(sequenceStart.Start), sequenceStart.Anchor), sequenceStart);
                        break;
                    case MappingStart mappingStart:
                        Push(open, new OpenCollection(new YamlTreeMapping(mappingStart.Start), mappingStart.Anchor), mappingStart);
                        break;
                    case SequenceEnd or MappingEnd:
                        OpenCollection done = open.Pop();
                        if (done.Node is YamlTreeMapping mapping)
                        {
                            ApplyMergeKeys(mapping);
                        }

                        Register(anchors, done.Anchor, done.Node);
                        Add(open, done.Node, ref root, current);
                        break;
                    default:
                        break; // comments are not reported by the parser; nothing else can occur
                }
            }
        }
        catch (YamlException e)
        {
            throw new TalosYamlException($"invalid YAML: {StripMark(e.Message)}", e.Start, null, e);
        }

        return root;
    }

    /// <summary>Writes a talosconfig in the shape yaml.v3 gives it (4-space indent, indented block lists).</summary>
    public static string Write(string currentContext, IEnumerable<TalosConfigRawContext> contexts)
    {
        var writer = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        var emitter = new Emitter(writer, new EmitterSettings(bestIndent: 4, bestWidth: int.MaxValue, isCanonical: false, maxSimpleKeyLength: 1024, skipAnchorName: false, indentSequences: true));
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, isImplicit: true));
        emitter.Emit(new MappingStart());
        EmitString(emitter, "context");
        EmitString(emitter, currentContext);
        EmitString(emitter, "contexts");
        emitter.Emit(new MappingStart());
        foreach (TalosConfigRawContext context in contexts.OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            EmitString(emitter, context.Name);
            emitter.Emit(new MappingStart());
            EmitOptional(emitter, "target", context.Target);
            EmitString(emitter, "endpoints");
            EmitList(emitter, context.Endpoints);
            if (context.Nodes.Count > 0)
            {
                EmitString(emitter, "nodes");
                EmitList(emitter, context.Nodes);
            }

            EmitOptional(emitter, "ca", context.CertificateAuthority);
            EmitOptional(emitter, "crt", context.Certificate);
            EmitOptional(emitter, "key", context.Key);
            if (context.HasBasicAuth || context.SideroV1Identity is not null)
            {
                EmitString(emitter, "auth");
                emitter.Emit(new MappingStart());
                if (context.HasBasicAuth)
                {
                    EmitString(emitter, "basic");
                    emitter.Emit(new MappingStart());
                    EmitString(emitter, "username");
                    EmitString(emitter, context.BasicUsername ?? string.Empty);
                    EmitString(emitter, "password");
                    EmitString(emitter, context.BasicPassword ?? string.Empty);
                    emitter.Emit(new MappingEnd());
                }

                if (context.SideroV1Identity is not null)
                {
                    EmitString(emitter, "siderov1");
                    emitter.Emit(new MappingStart());
                    EmitString(emitter, "identity");
                    EmitString(emitter, context.SideroV1Identity);
                    emitter.Emit(new MappingEnd());
                }

                emitter.Emit(new MappingEnd());
            }

            EmitOptional(emitter, "cluster", context.Cluster);
            EmitOptional(emitter, "proxy-url", context.ProxyUrl);
            emitter.Emit(new MappingEnd());
        }

        emitter.Emit(new MappingEnd());
        emitter.Emit(new MappingEnd());
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return writer.ToString();
    }

    private static void EmitOptional(Emitter emitter, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            EmitString(emitter, key);
            EmitString(emitter, value);
        }
    }

    private static void EmitList(Emitter emitter, IReadOnlyList<string> values)
    {
        emitter.Emit(new SequenceStart(AnchorName.Empty, TagName.Empty, isImplicit: true, values.Count == 0 ? SequenceStyle.Flow : SequenceStyle.Block));
        foreach (string value in values)
        {
            EmitString(emitter, value);
        }

        emitter.Emit(new SequenceEnd());
    }

    private static void EmitString(Emitter emitter, string value)
    {
        // As yaml.v3 does: a string that a plain scalar would turn into null, a bool, a number or a timestamp (YAML 1.1
        // or 1.2) is double-quoted, so every reader, typed or not, gets the string back. The emitter itself quotes
        // what cannot be plain at all (leading '[', ': ', '#', …).
        ScalarStyle style = value.Length == 0 || NonStringPlainScalar().IsMatch(value) ? ScalarStyle.DoubleQuoted : ScalarStyle.Any;
        emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, value, style, isPlainImplicit: true, isQuotedImplicit: true));
    }

    [GeneratedRegex(
        """
        ^(?:
          ~|null|Null|NULL
          |y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
          |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])*
          |[-+]?0[xX][0-9a-fA-F_]+|[-+]?0o[0-7_]+|[-+]?0b[01_]+
          |[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?
          |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
          |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)
          |[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt\ ].*)?
          |<<|=
        )$
        """,
        RegexOptions.IgnorePatternWhitespace | RegexOptions.CultureInvariant)]
    private static partial Regex NonStringPlainScalar();

    private static void Push(Stack<OpenCollection> open, OpenCollection collection, ParsingEvent at)
    {
        if (open.Count >= MaxDepth)
        {
            throw new TalosYamlException(string.Create(CultureInfo.InvariantCulture, $"nesting deeper than {MaxDepth} levels"), at.Start);
        }

        open.Push(collection);
    }

    private static void Add(Stack<OpenCollection> open, YamlTreeNode node, ref YamlTreeNode? root, ParsingEvent at)
    {
        if (open.Count == 0)
        {
            root = node;
            return;
        }

        OpenCollection parent = open.Peek();
        switch (parent.Node)
        {
            case YamlTreeSequence sequence:
                sequence.Items.Add(node);
                break;
            case YamlTreeMapping mapping when parent.PendingKey is null:
                if (node is not YamlTreeScalar keyScalar)
                {
                    throw new TalosYamlException($"a mapping key is {node.Kind}; talosconfig keys are strings", at.Start);
                }

                string key = keyScalar.Value ?? string.Empty;
                if (key != MergeKey && mapping[key] is not null)
                {
                    throw new TalosYamlException($"duplicate key '{key}'", at.Start);
                }

                parent.PendingKey = key;
                break;
            case YamlTreeMapping mapping:
                mapping.Entries.Add(new KeyValuePair<string, YamlTreeNode>(parent.PendingKey, node));
                parent.PendingKey = null;
                break;
        }
    }

    /// <summary>
    /// Applies <c>&lt;&lt;: *anchor</c> and <c>&lt;&lt;: [*a, *b]</c>: keys written in the mapping win, then earlier
    /// merged mappings win over later ones.
    /// </summary>
    private static void ApplyMergeKeys(YamlTreeMapping mapping)
    {
        if (!mapping.Entries.Exists(e => e.Key == MergeKey))
        {
            return;
        }

        var sources = new List<YamlTreeMapping>();
        foreach (KeyValuePair<string, YamlTreeNode> entry in mapping.Entries.Where(e => e.Key == MergeKey))
        {
            switch (entry.Value)
            {
                case YamlTreeMapping single:
                    sources.Add(single);
                    break;
                case YamlTreeSequence list when list.Items.TrueForAll(i => i is YamlTreeMapping):
                    sources.AddRange(list.Items.Cast<YamlTreeMapping>());
                    break;
                default:
                    throw new TalosYamlException("a '<<' merge key must refer to a mapping or a list of mappings", entry.Value.Start);
            }
        }

        mapping.Entries.RemoveAll(e => e.Key == MergeKey);
        foreach (YamlTreeMapping source in sources)
        {
            foreach (KeyValuePair<string, YamlTreeNode> entry in source.Entries)
            {
                if (mapping[entry.Key] is null)
                {
                    mapping.Entries.Add(entry);
                }
            }
        }
    }

    private static void Register(Dictionary<string, YamlTreeNode> anchors, AnchorName anchor, YamlTreeNode node)
    {
        if (!anchor.IsEmpty)
        {
            anchors[anchor.Value] = node;
        }
    }

    private static bool IsNull(Scalar scalar) =>
        scalar.Style == ScalarStyle.Plain && scalar.Tag.IsEmpty && (scalar.Value.Length == 0 || IsNullWord(scalar.Value));

    private static bool IsNullWord(string value) => value is "~" or "null" or "Null" or "NULL";

    // YamlDotNet prefixes messages with "(Line: 3, Col: 5, Idx: 20) - (Line: …): "; the caller adds its own position.
    private static string StripMark(string message)
    {
        int separator = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith("(Line:", StringComparison.Ordinal) && separator > 0 ? message[(separator + 3)..] : message;
    }

    private sealed class OpenCollection(YamlTreeNode node, AnchorName anchor)
    {
        public YamlTreeNode Node { get; } = node;

        public AnchorName Anchor { get; } = anchor;

        public string? PendingKey { get; set; }
    }
}
