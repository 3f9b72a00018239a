// ThreadSanitizer suppressions for the storage tests, read by TSAN at startup (a no-op in every
// other build). The Debian libleveldb is not built with -fsanitize=thread, so TSAN cannot see
// the atomics that publish a memtable's entries to concurrent readers (leveldb
// db/skiplist.h) and reports the committer's Write racing with a reader's Seek inside
// libleveldb. Only reports with a libleveldb frame are suppressed.
extern "C" const char* __tsan_default_suppressions() { return "race:libleveldb.so\n"; }
