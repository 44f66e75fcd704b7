namespace Talos.Recovery;

/// <summary>
/// The root of every exception this SDK throws on purpose. Catch it to handle any failure of the SDK
/// (configuration, transport, node, snapshot) in one place; catch a subclass to branch on the kind.
/// Argument mistakes are reported with the usual <see cref="ArgumentException"/> family instead.
/// </summary>
public class TalosRecoveryException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    public TalosRecoveryException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    public TalosRecoveryException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
