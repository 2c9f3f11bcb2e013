namespace OrleansStreams.Grains;

/// <summary>
/// Application logic run on each page view in its URL grain before it is counted. Throwing marks the view as a
/// processing error: it is retried with backoff, then dead-lettered with reason <c>processing_error</c>, and
/// the partition moves on.
/// </summary>
public interface IPageViewHandler
{
    void Handle(PageView view);
}
