/* Error texts and the ABI version. */
#include "check.h"

void test_errors(void)
{
    for (int i = 0; i < HF_NERRORS; i++) {
        const char *a = hf_strerror(i);
        CHECK(a && a[0], "hf_strerror(%d) is non-empty", i);
        CHECK(a && strcmp(a, "unknown error"), "hf_strerror(%d) is not 'unknown error'", i);
        for (int j = 0; j < i; j++)
            CHECK(a && strcmp(a, hf_strerror(j)), "hf_strerror(%d) and (%d) differ", i, j);
    }
    CHECK(!strcmp(hf_strerror(-1), "unknown error"), "hf_strerror(-1): %s", hf_strerror(-1));
    CHECK(!strcmp(hf_strerror(HF_NERRORS), "unknown error"), "hf_strerror(HF_NERRORS): %s",
          hf_strerror(HF_NERRORS));
    CHECK(!strcmp(hf_strerror(1000), "unknown error"), "hf_strerror(1000): %s", hf_strerror(1000));
    CHECK(hf_abi_version() == HF_ABI_VERSION, "ABI version %d", hf_abi_version());
}
