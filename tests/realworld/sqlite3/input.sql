-- tests/realworld: read by the sqlite3 shell in three parts.  A part ends
-- with the checkpoint line (the tests stop the shell in sqlite_version()
-- there, or attach to it between parts).
CREATE TABLE t(k INTEGER PRIMARY KEY, name TEXT, data BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300)
  INSERT INTO t SELECT x, printf('row-%03d', x), zeroblob(x % 5) || x'DEADBEEF' FROM c;
PRAGMA hard_heap_limit = 50000000;
PRAGMA soft_heap_limit = 1000000;
SELECT count(*), sum(k), hex(sum(k)) FROM t;
SELECT k, name, hex(name), hex(data) FROM t WHERE k % 60 = 0;
SELECT 'checkpoint', sqlite_version() IS NOT NULL;
INSERT INTO t VALUES (1000, 'after the first patch', x'CAFE');
SELECT count(*), hex(sum(k)) FROM t;
SELECT k, hex(name), hex(data) FROM t WHERE k % 75 = 0 OR k = 1000;
PRAGMA soft_heap_limit;
PRAGMA soft_heap_limit = 0;
PRAGMA soft_heap_limit = 1000000;
SELECT 'checkpoint', sqlite_version() IS NOT NULL;
INSERT INTO t VALUES (2000, 'after the second patch', x'F00D');
SELECT count(*), hex(sum(k)) FROM t;
SELECT k, hex(name), hex(data) FROM t WHERE k % 100 = 0 OR k >= 1000;
PRAGMA soft_heap_limit;
PRAGMA soft_heap_limit = 0;
PRAGMA soft_heap_limit = 99999999999;
SELECT 'end';
