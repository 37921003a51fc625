/* Rust symbol names as Rust prints them, from both of rustc's manglings:
 * the legacy one (_ZN, length-prefixed path, a final "h" + 16 hex digits
 * element that is the hash, "$LT$"-style escapes) and v0 (_R, RFC 2603).
 * The hash and the crates' disambiguators are left out: a headline reads
 * "rs_deadlock::transfer", not "rs_deadlock::transfer::h1a7fa001b73d8c57".
 *
 * Pure and bounded: a name that does not parse in full is no Rust name to
 * this module (the caller shows it as it is rather than half of it), and
 * output and work are capped so that backreferences cannot blow up. */
#ifndef LEAKSCAN_DEMANGLE_RUST_H
#define LEAKSCAN_DEMANGLE_RUST_H

/* Demangles sym (a legacy or v0 Rust symbol, optionally with an LLVM
 * ".llvm.N" or other "."-suffix) into a new string in *ret.  Returns 0,
 * -EINVAL when sym is not a Rust symbol or does not parse, or -ENOMEM. */
int demangle_rust(const char *sym, char **ret);

#endif
