namespace Talos.Recovery.Bolt;

/// <summary>Collects problems up to a cap; beyond it only counts them. Problems are rare, so allocation here is fine.</summary>
internal sealed class BoltProblemSink
{
    private readonly List<BoltProblem> _problems = [];
    private readonly int _max;

    public BoltProblemSink(int maxProblems)
    {
        _max = maxProblems;
    }

    public int ErrorCount { get; private set; }

    public int NotRecorded { get; private set; }

    public bool HasErrors => ErrorCount > 0;

    public void Error(BoltProblemCode code, long? pageId, long? offset, string message) => Add(code, BoltProblemSeverity.Error, pageId, offset, message);

    public void Warning(BoltProblemCode code, long? pageId, long? offset, string message) => Add(code, BoltProblemSeverity.Warning, pageId, offset, message);

    public void Add(BoltProblemCode code, BoltProblemSeverity severity, long? pageId, long? offset, string message)
    {
        if (severity == BoltProblemSeverity.Error)
        {
            ErrorCount++;
        }

        if (_problems.Count >= _max)
        {
            NotRecorded++;
            return;
        }

        _problems.Add(new BoltProblem(code, severity, pageId, offset, message));
    }

    /// <summary>The recorded problems, errors first, each group in the order found.</summary>
    public IReadOnlyList<BoltProblem> ToList()
    {
        var result = new List<BoltProblem>(_problems.Count);
        result.AddRange(_problems.Where(p => p.Severity == BoltProblemSeverity.Error));
        result.AddRange(_problems.Where(p => p.Severity != BoltProblemSeverity.Error));
        return result;
    }
}
