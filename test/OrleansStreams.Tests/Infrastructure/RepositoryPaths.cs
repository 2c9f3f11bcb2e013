namespace OrleansStreams.Tests.Infrastructure;

public static class RepositoryPaths
{
    /// <summary>The folder that holds OrleansStreams.slnx.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrleansStreams.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Could not find the repository root (OrleansStreams.slnx) above " + AppContext.BaseDirectory);
    }
}
