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


/* A library's DT_SONAME is in its header (hotfix knows its own patches by
 * theirs); a program has none. */
void test_soname(void)
{
    write_file("lib.c", "int lib_value(void) { return 1; }\n");
    char src[512], so[512];
    snprintf(src, sizeof src, "%s", tmp("lib.c"));
    snprintf(so, sizeof so, "%s", tmp("libnamed.so"));
    char *link[] = {"cc", "-shared", "-fPIC", src, "-Wl,-soname,hotfix-patch", "-o", so, NULL};
    hf_image *img = NULL;
    char *header = NULL;
    if (CHECK(run(link), "link a library with a soname") && CHECK(hf_open(so, &img) == HF_OK, "open it") &&
        CHECK(hf_header_json(img, &header) == HF_OK && header, "hf_header_json"))
        CHECK(strstr(header, "\"soname\":\"hotfix-patch\"") != NULL, "the soname: %s", header);
    hf_free(header);
    hf_close(img);
    header = NULL;
    char *plain[] = {"cc", "-shared", "-fPIC", src, "-o", so, NULL};
    if (CHECK(run(plain), "link one without") && CHECK(hf_open(so, &img) == HF_OK, "open it") &&
        CHECK(hf_header_json(img, &header) == HF_OK && header, "hf_header_json"))
        CHECK(strstr(header, "\"soname\":\"\"") != NULL, "no soname: %s", header);
    hf_free(header);
    hf_close(img);
}
