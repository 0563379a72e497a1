// A client of Debian's leveldb for tests/realworld: it writes and reads a
// database in rounds while leveldb compacts on its background thread, and
// prints one line per round of what it sees.  Nothing it prints depends on
// timing: values read back, the status of a read, whether the library's
// singletons are the ones of the first round, the number of threads, and
// how many jobs ran on the background thread.
//
//   leveldb-client DIR ROUNDS CHECKPOINT_ROUND [MS_BETWEEN_ROUNDS]
//
// checkpoint() is called after round CHECKPOINT_ROUND (the tests stop
// there); with MS_BETWEEN_ROUNDS the client sleeps between rounds (a test
// attaches meanwhile).
#include <dirent.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "leveldb/comparator.h"
#include "leveldb/db.h"
#include "leveldb/env.h"
#include "leveldb/options.h"

extern "C" __attribute__((noinline)) void checkpoint(int round) {
  asm volatile("" : : "r"(round) : "memory");
}

static int count_threads() {
  int n = 0;
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return -1;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') n++;
  }
  closedir(d);
  return n;
}

static void tick(void* arg) {
  static_cast<std::atomic<int>*>(arg)->fetch_add(1);
}

static std::string key_of(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "key%07d", i);
  return buf;
}

static std::string value_of(int i) {
  std::string v = "value-" + std::to_string(i) + "-";
  while (v.size() < 200) v += static_cast<char>('a' + (i + v.size()) % 26);
  return v;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s DIR ROUNDS CHECKPOINT_ROUND [MS_BETWEEN_ROUNDS]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const int rounds = std::atoi(argv[2]), stop = std::atoi(argv[3]);
  const int pause_ms = argc > 4 ? std::atoi(argv[4]) : 0;
  const int per_round = 500;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  leveldb::Options options;
  options.create_if_missing = true;
  options.write_buffer_size = 64 * 1024;    // small memtables: compactions in every round
  leveldb::DestroyDB(dir, options);
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir, &db);
  if (!s.ok()) {
    std::printf("open: %s\n", s.ToString().c_str());
    return 1;
  }
  leveldb::Env* const env0 = leveldb::Env::Default();
  const leveldb::Comparator* const cmp0 = leveldb::BytewiseComparator();
  std::atomic<int> ticks{0};

  for (int r = 1; r <= rounds; r++) {
    for (int i = (r - 1) * per_round; i < r * per_round; i++) {
      s = db->Put(leveldb::WriteOptions(), key_of(i), value_of(i));
      if (!s.ok()) {
        std::printf("put: %s\n", s.ToString().c_str());
        return 1;
      }
    }
    // One job on the default Env's background thread (the one that
    // compacts): a second Env would start a second thread.
    leveldb::Env* env = leveldb::Env::Default();
    env->Schedule(tick, &ticks);
    for (int waited = 0; ticks.load() < r && waited < 5000; waited++) env->SleepForMicroseconds(1000);

    std::string first, last, none;
    leveldb::Status sf = db->Get(leveldb::ReadOptions(), key_of((r - 1) * per_round), &first);
    leveldb::Status sl = db->Get(leveldb::ReadOptions(), key_of(r * per_round - 1), &last);
    leveldb::Status se = db->Get(leveldb::ReadOptions(), "", &none);
    int keys = 0;
    leveldb::Iterator* it = db->NewIterator(leveldb::ReadOptions());
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys++;
    delete it;
    const leveldb::Comparator* cmp = leveldb::BytewiseComparator();
    std::printf("round %d: keys=%d first=%s last=%s empty-key=%s env=%s comparator=%s(%s) threads=%d ticks=%d\n",
                r, keys, sf.ok() ? first.substr(0, 16).c_str() : sf.ToString().c_str(),
                sl.ok() ? last.substr(0, 16).c_str() : sl.ToString().c_str(), se.ToString().c_str(),
                env == env0 ? "same" : "other", cmp == cmp0 ? "same" : "other", cmp->Name(),
                count_threads(), ticks.load());
    if (r == stop) checkpoint(r);
    if (pause_ms) usleep(pause_ms * 1000);
  }
  delete db;
  std::printf("done\n");
  return 0;
}
