/* OpenSSL loaded on demand; see tls.h.  One dlopen of libssl's SONAME,
 * whose dependencies bring libcrypto; every symbol is looked up in that
 * handle's scope, so ERR_* come from the libcrypto libssl itself uses. */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/opensslv.h>

#include "tls.h"

#define TLS_STR_(x) #x
#define TLS_STR(x) TLS_STR_(x)
#ifdef OPENSSL_SHLIB_VERSION                    /* OpenSSL 3: 3 */
#define TLS_SHLIB TLS_STR(OPENSSL_SHLIB_VERSION)
#else                                           /* OpenSSL 1.1: "1.1" */
#define TLS_SHLIB SHLIB_VERSION_NUMBER
#endif

const char tls_lib_soname[] = "libssl.so." TLS_SHLIB;

/* Where to get it, for the error line: Debian and Ubuntu name the package
 * after the SONAME (libssl3; libssl3t64 since the 64-bit time_t change). */
#define TLS_PACKAGES "Debian, Ubuntu: libssl" TLS_SHLIB "; Fedora, RHEL: openssl-libs; Alpine: libssl" TLS_SHLIB

static const struct {
        const char *name;
        size_t offset;
} tls_symbols[] = {
#define TLS_SYM(f) { #f, offsetof(struct tls_lib, f) }
        TLS_SYM(TLS_server_method), TLS_SYM(SSL_CTX_new), TLS_SYM(SSL_CTX_free), TLS_SYM(SSL_CTX_ctrl),
        TLS_SYM(SSL_CTX_use_certificate_chain_file), TLS_SYM(SSL_CTX_use_PrivateKey_file),
        TLS_SYM(SSL_CTX_check_private_key), TLS_SYM(SSL_new), TLS_SYM(SSL_free), TLS_SYM(SSL_set_fd),
        TLS_SYM(SSL_ctrl), TLS_SYM(SSL_accept), TLS_SYM(SSL_read), TLS_SYM(SSL_write), TLS_SYM(SSL_shutdown),
        TLS_SYM(SSL_get_error), TLS_SYM(ERR_get_error), TLS_SYM(ERR_error_string_n), TLS_SYM(ERR_clear_error),
#undef TLS_SYM
};
_Static_assert(sizeof(struct tls_lib) == sizeof tls_symbols / sizeof tls_symbols[0] * sizeof(void (*)(void)),
               "every function of struct tls_lib is looked up");

static struct tls_lib tls;
static bool tls_loaded;

int tls_lib_load(const struct tls_lib **ret, char **ret_why)
{
        if (tls_loaded) {
                *ret = &tls;
                return 0;
        }
        /* RTLD_NOW: a library without one of our symbols fails here, once,
         * not at the first handshake */
        void *h = dlopen(tls_lib_soname, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                /* dlerror names the file that is missing: libssl itself, or
                 * libcrypto, or another dependency */
                const char *e = dlerror();
                if (ret_why && asprintf(ret_why, "TLS needs OpenSSL's %s, which cannot be loaded (%s): install it (%s)",
                                        tls_lib_soname, e ? e : "unknown error", TLS_PACKAGES) < 0)
                        *ret_why = NULL;
                return -ENOENT;
        }
        struct tls_lib t;
        for (size_t i = 0; i < sizeof tls_symbols / sizeof tls_symbols[0]; i++) {
                (void) dlerror();
                void *f = dlsym(h, tls_symbols[i].name);
                if (!f) {
                        if (ret_why && asprintf(ret_why, "TLS: %s (OpenSSL) has no %s: install the OpenSSL "
                                                "%s that leakscan was built for (%s)", tls_lib_soname,
                                                tls_symbols[i].name, OPENSSL_VERSION_TEXT, TLS_PACKAGES) < 0)
                                *ret_why = NULL;
                        dlclose(h);
                        return -ENOENT;
                }
                /* POSIX: a function's address fits in a void * (dlsym's
                 * own contract) */
                memcpy((char *) &t + tls_symbols[i].offset, &f, sizeof f);
        }
        tls = t;
        tls_loaded = true;
        *ret = &tls;
        return 0;
}
