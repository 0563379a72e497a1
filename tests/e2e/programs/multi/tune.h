/* Tuning knobs: macros only, so no debug information names this file. */
#define STEP 1
#define OTHER 7
