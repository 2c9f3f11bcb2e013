using Orleans;
using Orleans.Runtime;

namespace OrleansStreams.Grains;

/// <summary>
/// References to string-keyed grains on the hot path. <c>IGrainFactory.GetGrain&lt;T&gt;(key)</c> resolves the
/// interface's grain type through its attributes on every call (reflection, allocations and finalizers, about a
/// tenth of the pipeline's CPU in the bench's profile); the ids it resolves depend only on the code, so they are
/// resolved once per interface and the reference is built from them directly.
/// </summary>
internal static class KeyedGrains
{
    public static T GetKeyed<T>(this IGrainFactory factory, string key)
        where T : IGrainWithStringKey
    {
        if (Ids<T>.Value is not var (type, interfaceType))
        {
            var first = factory.GetGrain<T>(key);
            var reference = (GrainReference)(object)first;
            Ids<T>.Value = (reference.GrainId.Type, reference.InterfaceType);
            return first;
        }

        return (T)factory.GetGrain(GrainId.Create(type, key), interfaceType);
    }

    private static class Ids<T>
    {
        public static (GrainType, GrainInterfaceType)? Value;
    }
}
