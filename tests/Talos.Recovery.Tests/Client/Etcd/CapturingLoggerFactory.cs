using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Talos.Recovery.Tests.Client.Etcd;

/// <summary>Records every log entry (event id, level, message) so tests can assert on what the client logged.</summary>
internal sealed class CapturingLoggerFactory : ILoggerFactory
{
    public ConcurrentQueue<(EventId EventId, LogLevel Level, string Message)> Entries { get; } = new();

    public IEnumerable<string> MessagesOf(int eventId) => Entries.Where(e => e.EventId.Id == eventId).Select(e => e.Message);

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerFactory owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => owner.Entries.Enqueue((eventId, logLevel, formatter(state, exception)));
    }
}
