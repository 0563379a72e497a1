// A class exported from a library built with -fvisibility=hidden (as
// LEVELDB_EXPORT does): its inline members have default visibility, so a
// patch reaches them through the PLT and its own GOT.
#pragma once

#define API __attribute__((visibility("default")))

class API Status {
 public:
  static Status Ok() { return Status(0, "ok"); }
  static Status Invalid(const char *why) { return Status(2, why); }
  Status(int code, const char *why);    // status.cc
  int code() const { return code_; }
  const char *why() const { return why_; }

 private:
  int code_;
  const char *why_;
};

API int statuses_made();                // status.cc
API Status store_get(int key);          // store.cc
extern API int store_calls;             // store.cc
