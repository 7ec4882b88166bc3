// What a sanitizer build changes in the figures tests measure of a tandemd they started (the test
// binary and tandemd come from the same build, so the test's own flags say how tandemd was built).
#pragma once

namespace tandem::test {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool built_with_asan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool built_with_asan = true;
#else
inline constexpr bool built_with_asan = false;
#endif
#else
inline constexpr bool built_with_asan = false;
#endif

// Resident memory ASan may keep besides what the program holds: freed blocks wait in its
// quarantine (ASAN_OPTIONS quarantine_size_mb, 256 MiB by default) before they are reused, so a
// node that freed large frames looks that much bigger. 0 in a normal build, where an RSS bound
// is checked as stated. (Measured: the partial-frame flood after client_hello, 64 MiB budget,
// held 88.6 -> 310.1 MiB under ASan, against a normal-build bound of +112 MiB.)
inline constexpr double asan_quarantine_mib = built_with_asan ? 256.0 : 0.0;

} // namespace tandem::test
