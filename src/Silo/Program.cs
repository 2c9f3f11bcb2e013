using OrleansStreams.Silo;

var app = OrleansStreamsApp.Build(args);
await app.RunAsync();
