/* The exporter's HTTP side: a small HTTP/1.1 server for GET requests, with
 * TLS and basic authentication configured by a web configuration file in
 * the format of Prometheus's own exporters (exporter-toolkit's
 * --web.config.file).  One thread multiplexes up to 64 connections, each
 * closed after its answer and within deadlines: a scraper asks once every
 * few seconds, and clients that connect and say nothing must not keep it
 * (or a health check) waiting. */
#ifndef LEAKSCAN_SERVE_HTTP_H
#define LEAKSCAN_SERVE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct web_user {
        char *name;
        char *hash;             /* bcrypt: $2y$ or $2b$ (or any crypt(3) hash) */
};

struct web_config {
        char *cert_file;        /* tls_server_config: both or neither */
        char *key_file;
        struct web_user *users; /* basic_auth_users: empty means no authentication */
        size_t n_users;
};

/* Reads a web configuration file: the keys tls_server_config (cert_file,
 * key_file) and basic_auth_users (NAME: HASH).  Any other key is an error,
 * as a setting silently ignored could leave the exporter open.  Returns 0,
 * or -EINVAL with *ret_why (a new string: what is wrong, at which line),
 * or another negative errno. */
int web_config_load(const char *path, struct web_config *ret, char **ret_why);
void web_config_done(struct web_config *c);

/* What a request is answered with.  body is owned by the response. */
struct http_response {
        int status;
        const char *content_type;       /* static */
        char *body;
        size_t len;
};

/* Fills *resp for GET path (without the query string). */
typedef void (*http_handler)(void *userdata, const char *path, struct http_response *resp);

struct http_server;

/* Listens on listen ("HOST:PORT", "[V6]:PORT", ":PORT" or "PORT"; no host:
 * 127.0.0.1, port 0: any free one), with TLS when cfg names a certificate.
 * Returns 0, or a negative errno with *ret_why saying what failed. */
int http_server_new(const char *listen, const struct web_config *cfg, http_handler handler, void *userdata,
                    struct http_server **ret, char **ret_why);

/* "https://127.0.0.1:9464": where it listens, for the log line (static to
 * the server). */
const char *http_server_url(const struct http_server *s);

/* Answers requests until stop_fd becomes readable.  Returns 0. */
int http_server_run(struct http_server *s, int stop_fd);

void http_server_free(struct http_server *s);

#endif
