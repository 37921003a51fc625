/* The Rust demangler on real symbols: legacy ones from a program built by
 * Debian's rustc 1.63, v0 ones from std as rustc 1.95 ships it (its
 * outputs checked against GNU c++filt --format=rust, which prints the hash
 * and the crates' disambiguators that a headline leaves out), and names
 * that are not Rust's or do not parse, which must be refused whole. */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "demangle-rust.h"
#include "symbolize.h"

static const struct { const char *mangled, *plain; } good[] = {
        /* legacy */
        { "_ZN11rs_deadlock8transfer17h1a7fa001b73d8c57E", "rs_deadlock::transfer" },
        { "_ZN93_$LT$std..sync..mpsc..IntoIter$LT$T$GT$$u20$as$u20$core..iter..traits..iterator..Iterator$GT$"
          "4next17hb3652bad0d62546fE",
          "<std::sync::mpsc::IntoIter<T> as core::iter::traits::iterator::Iterator>::next" },
        { "_ZN3std3sys4unix5locks5futex5Mutex14lock_contended17h90dd70654eadd9feE",
          "std::sys::unix::locks::futex::Mutex::lock_contended" },
        { "_ZN3std6thread7Builder16spawn_unchecked_28_$u7b$$u7b$closure$u7d$$u7d$28_$u7b$$u7b$closure$u7d$$u7d$"
          "17h21e5811ff7cbd7e3E",
          "std::thread::Builder::spawn_unchecked_::{{closure}}::{{closure}}" },
        { "_ZN4core3ops8function6FnOnce40call_once$u7b$$u7b$vtable.shim$u7d$$u7d$17h5d4950ab86e5be51E"
          ".llvm.12705490928058775097",
          "core::ops::function::FnOnce::call_once{{vtable.shim}}" },
        { "_ZN95_$LT$core..ops..control_flow..ControlFlow$LT$B$C$C$GT$$u20$as$u20$core..ops..try_trait..Try$GT$"
          "6branch17hf1de914cee91ecf7E",
          "<core::ops::control_flow::ControlFlow<B,C> as core::ops::try_trait::Try>::branch" },
        { "_ZN4core3ptr85drop_in_place$LT$std..rt..lang_start$LT$$LP$$RP$$GT$..$u7b$$u7b$closure$u7d$$u7d$$GT$"
          "17h0123456789abcdefE",
          "core::ptr::drop_in_place<std::rt::lang_start<()>::{{closure}}>" },
        { "_ZN4core3ptr18_$BP$mut$u20$T$RF$5thing17h0123456789abcdefE", "core::ptr::*mut T&::thing" },
        { "_ZN3foo17h0123456789abcdefE", "foo" },
        /* v0 */
        { "_RNvMs_NtNtCsjrHSEGnQ3l9_3std6thread6threadNtB4_6Thread4park", "<std::thread::thread::Thread>::park" },
        { "_RNCNCNCNvNtCsjrHSEGnQ3l9_3std2rt19lang_start_internal00s_0B9_",
          "std::rt::lang_start_internal::{closure#0}::{closure#0}::{closure#1}" },
        { "_RINvNtCsgEmfK2I1SDS_4core3ptr13drop_in_placeINtNtCslNYArtu3iFV_5alloc5boxed3BoxDG0_INtNtNtB4_3ops8"
          "function2FnTRL1_INtNtCsjrHSEGnQ3l9_3std5panic13PanicHookInfoL0_EEEp6OutputuNtNtB4_6marker4SyncNtB2N_"
          "4SendEL_EEB1T_",
          "core::ptr::drop_in_place::<alloc::boxed::Box<dyn core::ops::function::Fn<(&std::panic::PanicHookInfo<'_>,), "
          "Output = ()> + core::marker::Sync + core::marker::Send>>" },
        { "_RINvNtCsgEmfK2I1SDS_4core6escape14escape_unicodeKja_ECsgY6Mt91CT9J_14rustc_demangle",
          "core::escape::escape_unicode::<10>" },
        { "_RINvMNtNtCsgEmfK2I1SDS_4core4cell4onceINtB3_8OnceCellINtNtB7_6result6ResultNtNtCs4X4t9plMPHF_9addr2line4"
          "line5LinesNtNtCsduwmD7cSIQq_5gimli4read5ErrorEE8try_initNCINvB2_11get_or_initNCINvMB1d_NtB1d_9LazyLines6"
          "borrowINtNtB1Q_12endian_slice11EndianSliceNtNtB1S_9endianity12LittleEndianEE0E0zECsjrHSEGnQ3l9_3std",
          "<core::cell::once::OnceCell<core::result::Result<addr2line::line::Lines, gimli::read::Error>>>::try_init::"
          "<<core::cell::once::OnceCell<core::result::Result<addr2line::line::Lines, gimli::read::Error>>>::get_or_init"
          "<<addr2line::line::LazyLines>::borrow<gimli::read::endian_slice::EndianSlice<gimli::endianity::LittleEndian>>"
          "::{closure#0}>::{closure#0}, !>" },
        { "_RNvCs1234_7mycrateu30____7hkackfecea1cbdathfdh9hlq6y",
          "mycrate::\xe1\x83\xa1\xe1\x83\x90\xe1\x83\xad\xe1\x83\x9b\xe1\x83\x94\xe1\x83\x9a\xe1\x83\x90\xe1\x83\x93_"
          "\xe1\x83\x92\xe1\x83\x94\xe1\x83\x9b\xe1\x83\xa0\xe1\x83\x98\xe1\x83\x94\xe1\x83\x9a\xe1\x83\x98_\xe1\x83"
          "\xa1\xe1\x83\x90\xe1\x83\x93\xe1\x83\x98\xe1\x83\x9a\xe1\x83\x98" },
        { "_RNvNtNtCs1234_7mycrate3foo3bar3baz.llvm.1234", "mycrate::foo::bar::baz" },
        { "_RNvXs2_NtCs1234_7mycrate3fooNtB5_4ConnNtNtCs9ltgdHTiPiY_4core3ops4Drop4drop",
          "<mycrate::foo::Conn as core::ops::Drop>::drop" },
};

/* not Rust, or broken: refused, never half printed */
static const char *const bad[] = {
        "_ZN3foo3barEv",                                        /* C++ */
        "_ZN3foo3barE",                                         /* C++ variable: no hash */
        "_ZN17h0123456789abcdefE",                              /* a hash alone */
        "_ZN3foo3bar17h0123456789abcdeE",                       /* hash one digit short */
        "_ZN3foo5$XX$x17h0123456789abcdefE",                    /* unknown escape */
        "_ZN3foo4$u0$17h0123456789abcdefE",                     /* a control character */
        "_ZN9short17h0123456789abcdefE",                        /* length past the end */
        "_R",
        "_RNvC",
        "_RNvCs1234_7mycrate3fo",                               /* truncated */
        "_RB_",                                                 /* backref to itself */
        "_RNvB0_3foo",                                          /* backref not backwards */
        "_RNvCs1234_7mycrate3foo!",                             /* junk after */
        "_RINvNtCs1_4core6escape1fKRe3abcE",                    /* a str const: unknown */
        "main",
        "",
};

static void test_table(void)
{
        for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
                char *out = NULL;
                CHECK_EQ_INT(demangle_rust(good[i].mangled, &out), 0);
                CHECK_EQ_STR(out, good[i].plain);
                free(out);
        }
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                char *out = (char *) "unchanged";
                CHECK_EQ_INT(demangle_rust(bad[i], &out), -EINVAL);
                CHECK_EQ_STR(out, "unchanged");
        }
}

/* Backrefs that double the work at every step are cut, not followed for
 * ever: the name is refused quickly. */
static void test_blowup(void)
{
        char sym[4096] = "_RINvCs1_1a1fTuuE";
        size_t len = strlen(sym);
        /* each T(B prev, B prev) doubles the printed type */
        for (int i = 0; i < 60 && len + 32 < sizeof sym; i++)
                len += (size_t) snprintf(sym + len, sizeof sym - len, "TB%x_B%x_E", 14 + i, 14 + i);
        snprintf(sym + len, sizeof sym - len, "E");
        char *out = NULL;
        int r = demangle_rust(sym, &out);
        CHECK(r == -EINVAL || (r == 0 && strlen(out) < 4096));
        free(out);
}

/* The symbolizer's entry: Rust before C++, C++ and C as before. */
static void test_symbolize_demangle(void)
{
        char *s = symbolize_demangle("_ZN11rs_deadlock8transfer17h1a7fa001b73d8c57E");
        CHECK_EQ_STR(s, "rs_deadlock::transfer");
        free(s);
        s = symbolize_demangle("_ZN3foo3barEv");
        CHECK_EQ_STR(s, "foo::bar()");
        free(s);
        s = symbolize_demangle("pthread_mutex_lock@GLIBC_2.2.5");
        CHECK_EQ_STR(s, "pthread_mutex_lock");
        free(s);
        s = symbolize_demangle("_RNvCs1234_7mycrate3fo");
        CHECK_EQ_STR(s, "_RNvCs1234_7mycrate3fo");      /* broken: shown as it is */
        free(s);
}

int main(void)
{
        test_table();
        test_blowup();
        test_symbolize_demangle();
        return CHECK_DONE();
}
