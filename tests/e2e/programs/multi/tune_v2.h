/* Tuning knobs: macros only, so no debug information names this file. */
#define STEP 2
#define OTHER 7
