/* A singleton with default visibility, as libraries with export macros
 * declare them: g++ makes its object STB_GNU_UNIQUE. */
struct __attribute__((visibility("default"))) Registry {
    int hits = 0;
    static Registry &instance()
    {
        static Registry r;
        return r;
    }
};
