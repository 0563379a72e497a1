/* Opening files: what hf_open says of a missing file, a non-ELF file and
 * an empty one. */
#include "check.h"

void test_open(void)
{
    hf_image *img = (hf_image *)1;
    const char *missing = tmp("no-such-file.o");
    int st = hf_open(missing, &img);
    CHECK(st == HF_EOPEN, "missing file: st %d", st);
    CHECK(img == NULL, "missing file: *out is NULL");
    CHECK(strstr(hf_error_detail(), missing) != NULL, "detail names the file: %s", hf_error_detail());
    CHECK(strstr(hf_error_detail(), hf_strerror(HF_EOPEN)) != NULL, "detail says what: %s",
          hf_error_detail());

    img = (hf_image *)1;
    st = hf_open(__FILE__, &img);
    CHECK(st == HF_EELF, "a C source is not ELF: st %d", st);
    CHECK(img == NULL, "non-ELF: *out is NULL");
    CHECK(strstr(hf_error_detail(), __FILE__) != NULL, "detail names the file: %s", hf_error_detail());
    CHECK(strstr(hf_error_detail(), hf_strerror(HF_EELF)) != NULL && !strstr(hf_error_detail(), "no error"),
          "detail says what, and no 'no error': %s", hf_error_detail());

    write_file("empty.o", "");
    st = hf_open(tmp("empty.o"), &img);
    CHECK(st == HF_EELF, "an empty file is not ELF: st %d", st);
}
