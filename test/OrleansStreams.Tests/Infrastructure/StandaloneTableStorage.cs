using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Serialization;
using Orleans.Serialization.Serializers;
using Orleans.Storage;
using OrleansStreams.Silo.Storage;

namespace OrleansStreams.Tests.Infrastructure;

/// <summary>The Azure Table grain storage outside a silo, with Orleans' serializer and activators of its own.</summary>
internal static class StandaloneTableStorage
{
    public static TableBatchGrainStorage Create(TableClient table, string serviceId, int partitions, int maxInFlight)
    {
        var services = new ServiceCollection().AddSerializer().BuildServiceProvider();
        return new TableBatchGrainStorage(
            table,
            serviceId,
            partitions,
            maxInFlight,
            new OrleansGrainStorageSerializer(services.GetRequiredService<Serializer>()),
            services.GetRequiredService<IActivatorProvider>(),
            NullLogger<TableBatchGrainStorage>.Instance);
    }
}
