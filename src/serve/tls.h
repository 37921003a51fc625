/* OpenSSL for --serve's TLS, loaded only when a certificate is configured.
 *
 * libssl and libcrypto are not linked: relocating them was most of the
 * dynamic loader's work at every start of leakscan (every test a CI
 * wrapper runs), for a feature only --serve with --web.config.file uses.
 * The few functions the server calls are resolved once, by name, from the
 * SONAME of the headers we were built against, and checked against those
 * headers' prototypes (__typeof__). */
#ifndef LEAKSCAN_TLS_H
#define LEAKSCAN_TLS_H

#include <openssl/err.h>
#include <openssl/ssl.h>

struct tls_lib {
        __typeof__(TLS_server_method) *TLS_server_method;
        __typeof__(SSL_CTX_new) *SSL_CTX_new;
        __typeof__(SSL_CTX_free) *SSL_CTX_free;
        __typeof__(SSL_CTX_ctrl) *SSL_CTX_ctrl;         /* SSL_CTX_set_min_proto_version */
        __typeof__(SSL_CTX_use_certificate_chain_file) *SSL_CTX_use_certificate_chain_file;
        __typeof__(SSL_CTX_use_PrivateKey_file) *SSL_CTX_use_PrivateKey_file;
        __typeof__(SSL_CTX_check_private_key) *SSL_CTX_check_private_key;
        __typeof__(SSL_new) *SSL_new;
        __typeof__(SSL_free) *SSL_free;
        __typeof__(SSL_set_fd) *SSL_set_fd;
        __typeof__(SSL_ctrl) *SSL_ctrl;                 /* SSL_set_mode */
        __typeof__(SSL_accept) *SSL_accept;
        __typeof__(SSL_read) *SSL_read;
        __typeof__(SSL_write) *SSL_write;
        __typeof__(SSL_shutdown) *SSL_shutdown;
        __typeof__(SSL_get_error) *SSL_get_error;
        __typeof__(ERR_get_error) *ERR_get_error;       /* libcrypto's, found through libssl */
        __typeof__(ERR_error_string_n) *ERR_error_string_n;
        __typeof__(ERR_clear_error) *ERR_clear_error;
};

/* The SONAME loaded, "libssl.so.3" for OpenSSL 3: for messages. */
extern const char tls_lib_soname[];

/* Loads libssl (and with it libcrypto) on the first call and resolves the
 * functions above; later calls return the same table.  Call it from one
 * thread at a time (the server does, before its threads start).  Returns 0
 * with the table in *ret (static, never freed: the library stays loaded),
 * or -ENOENT with *ret_why (malloc'd) naming the library that is missing or
 * the function it lacks, and the package to install. */
int tls_lib_load(const struct tls_lib **ret, char **ret_why);

#endif
