// Shared by the libFuzzer targets: a property check that stops the run with a message (abort ->
// libFuzzer saves the input as crash-<sha1>). Asserts are on in the fuzz build (-UNDEBUG), but a
// property a target checks should fail the same way in every build type, hence this macro.
#pragma once
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, what)                                                                      \
  do {                                                                                              \
    if (!(cond)) {                                                                                  \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s (%s)\n", __FILE__, __LINE__, what, #cond); \
      std::abort();                                                                                 \
    }                                                                                               \
  } while (false)
