#include "status.h"

API int store_calls;

Status store_get(int key) {
  store_calls++;
  if (key < 0)
    return Status::Invalid("negative key");
  if (key == 0)
    return Status::Invalid("empty key");
  return Status::Ok();
}
