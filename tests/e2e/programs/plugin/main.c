/* A program that loads a plugin with dlopen (RTLD_LOCAL, as plugin hosts
 * do): the plugin's libraries are in no scope the program's own are. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) void checkpoint(int frame)
{
    __asm__ volatile("" : : "r"(frame) : "memory");
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 6;
    void *plugin = dlopen(argc > 2 ? argv[2] : "./libplugin.so", RTLD_NOW | RTLD_LOCAL);
    if (!plugin) {
        printf("no plugin: %s\n", dlerror());
        return 1;
    }
    int (*value)(int) = (int (*)(int))dlsym(plugin, "plugin_value");
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < n; i++) {
        checkpoint(i);
        printf("frame %d: value=%d\n", i, value(i));
    }
    return 0;
}
