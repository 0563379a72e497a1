#include "status.h"

static int made;

Status::Status(int code, const char *why) : code_(code), why_(why) { made++; }

int statuses_made() { return made; }
