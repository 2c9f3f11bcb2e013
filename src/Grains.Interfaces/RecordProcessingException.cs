using Orleans;

namespace OrleansStreams.Grains;

/// <summary>
/// Processing logic failed on one record: every record of the call before it was applied, it and those after
/// it were not. The caller retries, then dead-letters it with reason <c>processing_error</c>.
/// </summary>
[GenerateSerializer, Alias("OrleansStreams.RecordProcessingException")]
public sealed class RecordProcessingException : Exception
{
    public RecordProcessingException()
    {
    }

    public RecordProcessingException(string message)
        : base(message)
    {
    }

    public RecordProcessingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public RecordProcessingException(long offset, string error)
        : base(error)
    {
        Offset = offset;
        Error = error;
    }

    [Id(0)]
    public long Offset { get; private set; }

    [Id(1)]
    public string Error { get; private set; } = string.Empty;
}
