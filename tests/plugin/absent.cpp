// A library the missing-dep fake plugin links to and the loader is never told where to find.
extern "C" __attribute__((visibility("default"))) int autorec_test_absent_function() { return 1; }
