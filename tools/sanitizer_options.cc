// Default options of the sanitizers for every program of the sanitized build (MDB_SANITIZE),
// so the tests need no environment: a report aborts the program (a test that expects exit
// status 1 sees a signal instead) and shows where it happened. ASAN_OPTIONS / UBSAN_OPTIONS
// still override them.
extern "C" const char* __asan_default_options() {
  return "abort_on_error=1:halt_on_error=1:detect_leaks=1:check_initialization_order=1";
}
extern "C" const char* __ubsan_default_options() { return "abort_on_error=1:halt_on_error=1:print_stacktrace=1"; }
