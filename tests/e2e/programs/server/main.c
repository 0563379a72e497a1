/* A server of one client: reads a request per line from its standard
 * input (blocked in read() between requests) and answers each on its
 * standard output. */
#include <stdio.h>
#include <string.h>

const char *reply(const char *request);

int main(void)
{
    char line[256];
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        printf("%s\n", reply(line));
    }
    return 0;
}
