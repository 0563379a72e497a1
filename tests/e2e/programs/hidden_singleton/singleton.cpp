// A shared library built with -fvisibility=hidden (as leveldb's is): a
// function-local singleton, its guard variable hidden in the library.
struct Registry {
    static int constructions;
    Registry() { ++constructions; }
};
int Registry::constructions = 0;

__attribute__((visibility("default"))) int constructions_seen()
{
    static Registry registry;
    return Registry::constructions;
}
