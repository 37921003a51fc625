/* The exporter's HTTP server; see serve-http.h.
 *
 * One thread polls every connection (at most CONN_MAX), each moved on
 * without blocking (TLS handshake, request, answer), so a client that
 * connects and waits, stalls or trickles holds its own slot and delays no
 * other: a pool of threads would be held by as many idle clients as it has
 * threads, and the answers are rendered from shared state under one mutex
 * anyway.  Requests are read whole (headers only: GET and HEAD have no
 * body) within one deadline from the accept, and an answer must progress
 * every few seconds, so a client costs a slot for a few seconds at most.  Basic authentication checks the password with crypt(3)
 * (libxcrypt knows bcrypt's $2y$ and $2b$), against a real hash even for
 * an unknown user, so that the answer's time does not tell which users
 * exist; TLS is OpenSSL's, TLS 1.2 at least, loaded only when a
 * certificate is configured (tls.h). */
#include <arpa/inet.h>
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve-http.h"
#include "tls.h"
#include "util.h"

#define REQUEST_MAX 8192
#define IO_TIMEOUT_S 5

static int why(char **ret_why, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int why(char **ret_why, int r, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        if (ret_why && vasprintf(ret_why, fmt, ap) < 0)
                *ret_why = NULL;
        va_end(ap);
        return r;
}

/* ---- the web configuration file ---- */

void web_config_done(struct web_config *c)
{
        free(c->cert_file);
        free(c->key_file);
        for (size_t i = 0; i < c->n_users; i++) {
                free(c->users[i].name);
                free(c->users[i].hash);
        }
        free(c->users);
        *c = (struct web_config) {0};
}

/* A YAML scalar as this file holds them: plain, '...' or "..." (no escapes
 * but \" and \\ in double quotes).  Writes into s itself. */
static char *yaml_scalar(char *s)
{
        size_t n = strlen(s);
        while (n && isspace((unsigned char) s[n - 1]))
                s[--n] = 0;
        if (n >= 2 && (s[0] == '\'' || s[0] == '"') && s[n - 1] == s[0]) {
                char q = s[0], *o = s;
                for (size_t i = 1; i < n - 1; i++) {
                        if (q == '"' && s[i] == '\\' && i + 1 < n - 1)
                                i++;
                        else if (q == '\'' && s[i] == '\'' && s[i + 1] == '\'')
                                i++;
                        *o++ = s[i];
                }
                *o = 0;
        }
        return s;
}

int web_config_load(const char *path, struct web_config *ret, char **ret_why)
{
        _cleanup_free_ char *text = NULL;
        ssize_t rr = read_full_file(path, &text);
        if (rr < 0)
                return why(ret_why, (int) rr, "cannot read %s: %s", path, strerror((int) -rr));
        struct web_config c = {0};
        enum { NONE, TLS, USERS, UNKNOWN } section = NONE;
        int lineno = 0, r = 0;
        size_t cap = 0;
        for (char *line = text, *next; line && r == 0; line = next) {
                lineno++;
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                /* a comment starts a line or follows a blank */
                for (char *h = line; (h = strchr(h, '#')); h++)
                        if (h == line || isspace((unsigned char) h[-1])) {
                                *h = 0;
                                break;
                        }
                size_t indent = strspn(line, " ");
                char *key = line + indent;
                if (!*key || strspn(key, " \t\r") == strlen(key))
                        continue;
                if (streq(key, "---"))
                        continue;
                char *colon = strchr(key, ':');
                if (!colon) {
                        r = why(ret_why, -EINVAL, "%s:%d: expected KEY: VALUE", path, lineno);
                        break;
                }
                *colon = 0;
                char *value = yaml_scalar(colon + 1 + strspn(colon + 1, " \t"));
                yaml_scalar(key);
                if (indent == 0) {
                        if (*value)
                                r = why(ret_why, -EINVAL, "%s:%d: %s takes nested keys", path, lineno, key);
                        else if (streq(key, "tls_server_config"))
                                section = TLS;
                        else if (streq(key, "basic_auth_users"))
                                section = USERS;
                        else
                                r = why(ret_why, -EINVAL, "%s:%d: %s is not supported by leakscan (it knows "
                                        "tls_server_config and basic_auth_users)", path, lineno, key);
                        continue;
                }
                if (section == TLS && (streq(key, "cert_file") || streq(key, "key_file"))) {
                        char **field = streq(key, "cert_file") ? &c.cert_file : &c.key_file;
                        free(*field);
                        if (!(*field = strdup(value)))
                                r = -ENOMEM;
                } else if (section == TLS) {
                        r = why(ret_why, -EINVAL, "%s:%d: tls_server_config: %s is not supported by leakscan "
                                "(it knows cert_file and key_file)", path, lineno, key);
                } else if (section == USERS) {
                        if (!*value || grow_array(&c.users, &cap, c.n_users + 1, sizeof *c.users) < 0) {
                                r = *value ? -ENOMEM : why(ret_why, -EINVAL, "%s:%d: user %s has no password hash",
                                                           path, lineno, key);
                                break;
                        }
                        struct web_user *u = &c.users[c.n_users];
                        u->name = strdup(key);
                        u->hash = strdup(value);
                        c.n_users++;
                        if (!u->name || !u->hash)
                                r = -ENOMEM;
                } else {
                        r = why(ret_why, -EINVAL, "%s:%d: %s is outside any known section", path, lineno, key);
                }
        }
        if (r == 0 && !c.cert_file != !c.key_file)
                r = why(ret_why, -EINVAL, "%s: tls_server_config needs both cert_file and key_file", path);
        if (r < 0) {
                web_config_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}

/* ---- the server ---- */

/* OpenSSL's functions: set by the first server with TLS, before its
 * thread runs; every call below is made only on a server with TLS. */
static const struct tls_lib *openssl;

struct http_server {
        int fd;
        SSL_CTX *tls;
        const struct web_config *cfg;
        http_handler handler;
        void *userdata;
        char url[128];
        struct crypt_data *crypt;       /* crypt_r's state: 32 KiB, kept */
};

const char *http_server_url(const struct http_server *s)
{
        return s->url;
}

void http_server_free(struct http_server *s)
{
        if (!s)
                return;
        if (s->fd >= 0)
                close(s->fd);
        if (s->tls)
                openssl->SSL_CTX_free(s->tls);
        free(s->crypt);
        free(s);
}

static int tls_error(char **ret_why, const char *what, const char *file)
{
        char err[256] = "unknown error";
        unsigned long e = openssl->ERR_get_error();
        if (e)
                openssl->ERR_error_string_n(e, err, sizeof err);
        openssl->ERR_clear_error();
        return why(ret_why, -EINVAL, "TLS: cannot load the %s %s: %s", what, file, err);
}

int http_server_new(const char *listen_on, const struct web_config *cfg, http_handler handler, void *userdata,
                    struct http_server **ret, char **ret_why)
{
        /* split HOST:PORT; the host may be empty, bracketed IPv6, or absent */
        char host[256] = "127.0.0.1";
        const char *port = listen_on;
        const char *colon = strrchr(listen_on, ':');
        if (listen_on[0] == '[') {
                const char *close_b = strchr(listen_on, ']');
                if (!close_b || close_b[1] != ':' || (size_t) (close_b - listen_on) > sizeof host)
                        return why(ret_why, -EINVAL, "invalid address '%s': use [V6ADDR]:PORT", listen_on);
                snprintf(host, sizeof host, "%.*s", (int) (close_b - listen_on - 1), listen_on + 1);
                port = close_b + 2;
        } else if (colon) {
                if (colon > listen_on)
                        snprintf(host, sizeof host, "%.*s", (int) (colon - listen_on), listen_on);
                port = colon + 1;
        }
        if (!*port || strspn(port, "0123456789") != strlen(port) || atol(port) > 65535)
                return why(ret_why, -EINVAL, "invalid port in '%s': use HOST:PORT, e.g. 127.0.0.1:9464", listen_on);

        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
        struct addrinfo *ai = NULL;
        int gr = getaddrinfo(host, port, &hints, &ai);
        if (gr != 0)
                return why(ret_why, -EINVAL, "cannot resolve '%s': %s", host, gai_strerror(gr));
        struct http_server *s = calloc(1, sizeof *s);
        if (!s) {
                freeaddrinfo(ai);
                return -ENOMEM;
        }
        s->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1, r = 0;
        if (s->fd < 0 || setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
            bind(s->fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(s->fd, 16) < 0)
                r = why(ret_why, -errno, "cannot listen on %s: %s", listen_on, strerror(errno));
        freeaddrinfo(ai);
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        char addr[INET6_ADDRSTRLEN] = "?";
        int bound_port = 0;
        if (r == 0 && getsockname(s->fd, (struct sockaddr *) &sa, &len) == 0) {
                if (sa.ss_family == AF_INET6) {
                        inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &sa)->sin6_addr, addr, sizeof addr);
                        bound_port = ntohs(((struct sockaddr_in6 *) &sa)->sin6_port);
                } else {
                        inet_ntop(AF_INET, &((struct sockaddr_in *) &sa)->sin_addr, addr, sizeof addr);
                        bound_port = ntohs(((struct sockaddr_in *) &sa)->sin_port);
                }
        }
        bool tls = cfg && cfg->cert_file;
        snprintf(s->url, sizeof s->url, "%s://%s%s%s:%d", tls ? "https" : "http", sa.ss_family == AF_INET6 ? "[" : "",
                 addr, sa.ss_family == AF_INET6 ? "]" : "", bound_port);
        if (r == 0 && tls)
                r = tls_lib_load(&openssl, ret_why);
        if (r == 0 && tls) {
                s->tls = openssl->SSL_CTX_new(openssl->TLS_server_method());
                if (!s->tls)
                        r = why(ret_why, -ENOMEM, "TLS: cannot create a context");
                else if (openssl->SSL_CTX_ctrl(s->tls, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL) != 1)
                        r = tls_error(ret_why, "minimum version", "TLS 1.2");
                else if (openssl->SSL_CTX_use_certificate_chain_file(s->tls, cfg->cert_file) != 1)
                        r = tls_error(ret_why, "certificate", cfg->cert_file);
                else if (openssl->SSL_CTX_use_PrivateKey_file(s->tls, cfg->key_file, SSL_FILETYPE_PEM) != 1 ||
                         openssl->SSL_CTX_check_private_key(s->tls) != 1)
                        r = tls_error(ret_why, "key", cfg->key_file);
        }
        if (r == 0 && cfg && cfg->n_users && !(s->crypt = calloc(1, sizeof *s->crypt)))
                r = -ENOMEM;
        if (r < 0) {
                http_server_free(s);
                return r;
        }
        s->cfg = cfg;
        s->handler = handler;
        s->userdata = userdata;
        *ret = s;
        return 0;
}

/* One connection, from its accept to its close: the TLS handshake, the
 * request read whole, the answer written.  Every step is non-blocking; the
 * loop (http_server_run) polls for what step waits on. */
enum conn_step { CONN_HANDSHAKE, CONN_REQUEST, CONN_ANSWER };

struct conn {
        int fd;
        SSL *ssl;
        enum conn_step step;
        short events;           /* what the step waits for: POLLIN or POLLOUT */
        uint64_t accepted_us;
        uint64_t deadline_us;   /* the handshake and request together; then
                                 * the answer, from its last progress */
        uint64_t answer_end_us; /* and the answer in all */
        char req[REQUEST_MAX + 1];
        size_t len;
        char header[512];
        size_t header_len;
        char *body;             /* owned, or NULL (then static_body) */
        const char *static_body;
        size_t body_len;
        size_t sent;            /* of header, then body */
};

static const char *status_text(int status)
{
        switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        default: return "Internal Server Error";
        }
}

/* Queues the answer: header, and body (owned: free()d with the
 * connection) unless head. */
static void respond(struct conn *c, int status, const char *type, char *owned, const char *body, size_t len,
                    bool head, const char *extra)
{
        int n = snprintf(c->header, sizeof c->header, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n%s\r\n", status, status_text(status), type,
                         len, extra ? extra : "");
        c->header_len = n > 0 && (size_t) n < sizeof c->header ? (size_t) n : 0;
        c->body = owned;
        c->static_body = head ? NULL : body;
        c->body_len = head ? 0 : len;
        c->sent = 0;
}

static int b64_value(char ch)
{
        const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *p = ch ? strchr(alphabet, ch) : NULL;
        return p ? (int) (p - alphabet) : -1;
}

/* Decodes base64 text into out (NUL-terminated).  Returns false when it is
 * not base64 or does not fit. */
static bool b64_decode(const char *in, char *out, size_t size)
{
        size_t n = 0;
        unsigned acc = 0;
        int bits = 0;
        for (; *in && *in != '='; in++) {
                int v = b64_value(*in);
                if (v < 0)
                        return false;
                acc = acc << 6 | (unsigned) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        if (n + 1 >= size)
                                return false;
                        out[n++] = (char) (acc >> bits & 0xff);
                }
        }
        out[n] = 0;
        return strlen(out) == n;        /* no NUL inside */
}

/* Whether the Authorization header value holds a configured user and its
 * password. */
static bool authorized(struct http_server *s, const char *auth)
{
        if (!s->cfg || s->cfg->n_users == 0)
                return true;
        char creds[512];
        if (!auth || strncasecmp(auth, "Basic ", 6) != 0 || !b64_decode(auth + 6 + strspn(auth + 6, " "), creds,
                                                                         sizeof creds))
                return false;
        char *colon = strchr(creds, ':');
        if (!colon)
                return false;
        *colon = 0;
        const struct web_user *user = NULL;
        for (size_t i = 0; i < s->cfg->n_users; i++)
                if (streq(s->cfg->users[i].name, creds))
                        user = &s->cfg->users[i];
        /* an unknown user costs a hash too */
        const char *hash = user ? user->hash : s->cfg->users[0].hash;
        /* crypt_rn, libxcrypt's, not crypt_r: it returns NULL on a bad
         * hash instead of a "*0" string, and no sanitizer intercepts it */
        const char *out = crypt_rn(colon + 1, hash, s->crypt, (int) sizeof *s->crypt);
        bool same = out && strlen(out) == strlen(hash);
        unsigned diff = 0;
        for (size_t i = 0; same && hash[i]; i++)
                diff |= (unsigned char) out[i] ^ (unsigned char) hash[i];
        explicit_bzero(creds, sizeof creds);
        return user && same && diff == 0;
}

/* The value of header name in the request's header lines, or NULL (points
 * into req, which it NUL-terminates there). */
static char *header_value(char *headers, const char *name)
{
        size_t n = strlen(name);
        for (char *line = headers; line && *line;) {
                char *end = strstr(line, "\r\n");
                if (end)
                        *end = 0;
                if (strncasecmp(line, name, n) == 0 && line[n] == ':')
                        return line + n + 1 + strspn(line + n + 1, " \t");
                if (end)
                        *end = '\r';
                line = end ? end + 2 : NULL;
        }
        return NULL;
}

/* Answers the request read into c->req (whole, or REQUEST_MAX bytes of it). */
static void answer(struct http_server *s, struct conn *c)
{
        char *req = c->req;
        req[c->len] = 0;
        char *eol = strstr(req, "\r\n");
        if (!eol) {
                respond(c, 400, "text/plain", NULL, "bad request\n", 12, false, NULL);
                return;
        }
        *eol = 0;
        char *method = req, *path = strchr(req, ' ');
        char *version = path ? strchr(path + 1, ' ') : NULL;
        if (!path || !version) {
                respond(c, 400, "text/plain", NULL, "bad request\n", 12, false, NULL);
                return;
        }
        *path++ = 0;
        *version = 0;
        bool head = streq(method, "HEAD");
        if (!head && !streq(method, "GET")) {
                respond(c, 405, "text/plain", NULL, "only GET and HEAD\n", 18, false, "Allow: GET, HEAD\r\n");
                return;
        }
        if (!authorized(s, header_value(eol + 2, "Authorization"))) {
                respond(c, 401, "text/plain", NULL, "unauthorized\n", 13, head,
                        "WWW-Authenticate: Basic realm=\"leakscan\", charset=\"UTF-8\"\r\n");
                return;
        }
        path[strcspn(path, "?#")] = 0;
        struct http_response resp = { .status = 404, .content_type = "text/plain; charset=utf-8" };
        s->handler(s->userdata, path, &resp);
        respond(c, resp.status, resp.content_type, resp.body, resp.body ? resp.body : "", resp.len, head, NULL);
}

/* At most this many connections at once; one more evicts the oldest that
 * has not sent its request yet (or else the oldest): clients that connect
 * and wait hold a slot each, never the server. */
#define CONN_MAX 64
/* An answer may take this long in all, however steadily it is read. */
#define ANSWER_MAX_S 60

static void conn_free(struct conn *c)
{
        if (!c)
                return;
        if (c->ssl) {
                /* one try at close_notify, without waiting for the peer's */
                if (c->step == CONN_ANSWER)
                        (void) openssl->SSL_shutdown(c->ssl);
                openssl->SSL_free(c->ssl);
                openssl->ERR_clear_error();
        }
        if (c->fd >= 0)
                close(c->fd);
        free(c->body);
        free(c);
}

/* What a TLS call that did not finish waits for: POLLIN or POLLOUT, or 0
 * when the connection failed or was closed. */
static short tls_wait(struct conn *c, int r)
{
        switch (openssl->SSL_get_error(c->ssl, r)) {
        case SSL_ERROR_WANT_READ:
                return POLLIN;
        case SSL_ERROR_WANT_WRITE:
                return POLLOUT;
        default:
                openssl->ERR_clear_error();
                return 0;
        }
}

/* Moves c on as far as it goes without waiting.  Returns false when it is
 * done (answered, failed or closed by the peer): free it. */
static bool conn_step(struct http_server *s, struct conn *c, uint64_t now)
{
        if (c->step == CONN_HANDSHAKE) {
                int r = openssl->SSL_accept(c->ssl);
                if (r != 1) {
                        c->events = tls_wait(c, r);
                        return c->events != 0;
                }
                c->step = CONN_REQUEST;
        }
        while (c->step == CONN_REQUEST) {
                ssize_t n;
                if (c->ssl) {
                        int r = openssl->SSL_read(c->ssl, c->req + c->len, (int) (REQUEST_MAX - c->len));
                        if (r <= 0) {
                                c->events = tls_wait(c, r);
                                return c->events != 0;
                        }
                        n = r;
                } else {
                        n = recv(c->fd, c->req + c->len, REQUEST_MAX - c->len, 0);
                        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
                                c->events = POLLIN;
                                return true;
                        }
                        if (n <= 0)
                                return false;
                }
                c->len += (size_t) n;
                c->req[c->len] = 0;
                if (c->len == REQUEST_MAX || strstr(c->req, "\r\n\r\n")) {
                        answer(s, c);
                        c->step = CONN_ANSWER;
                        c->deadline_us = now + IO_TIMEOUT_S * 1000000ull;
                        c->answer_end_us = now + ANSWER_MAX_S * 1000000ull;
                }
        }
        for (;;) {
                const char *p;
                size_t left;
                if (c->sent < c->header_len) {
                        p = c->header + c->sent;
                        left = c->header_len - c->sent;
                } else if (c->sent - c->header_len < c->body_len) {
                        p = c->static_body + (c->sent - c->header_len);
                        left = c->body_len - (c->sent - c->header_len);
                } else {
                        return false;   /* all sent */
                }
                ssize_t w;
                if (c->ssl) {
                        int r = openssl->SSL_write(c->ssl, p, (int) (left > 1 << 30 ? 1 << 30 : left));
                        if (r <= 0) {
                                c->events = tls_wait(c, r);
                                return c->events != 0;
                        }
                        w = r;
                } else {
                        w = send(c->fd, p, left, MSG_NOSIGNAL);
                        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
                                c->events = POLLOUT;
                                return true;
                        }
                        if (w <= 0)
                                return false;
                }
                c->sent += (size_t) w;
                /* a reader that keeps reading keeps its slot, up to
                 * ANSWER_MAX_S in all */
                c->deadline_us = now + IO_TIMEOUT_S * 1000000ull;
                if (c->deadline_us > c->answer_end_us)
                        c->deadline_us = c->answer_end_us;
        }
}

/* A new connection on fd, or NULL (fd closed). */
static struct conn *conn_new(struct http_server *s, int fd, uint64_t now)
{
        struct conn *c = calloc(1, sizeof *c);
        if (!c) {
                close(fd);
                return NULL;
        }
        c->fd = fd;
        c->accepted_us = now;
        c->deadline_us = now + IO_TIMEOUT_S * 1000000ull;
        c->step = CONN_REQUEST;
        c->events = POLLIN;
        if (s->tls) {
                c->ssl = openssl->SSL_new(s->tls);
                if (!c->ssl || openssl->SSL_set_fd(c->ssl, fd) != 1) {
                        conn_free(c);
                        return NULL;
                }
                (void) openssl->SSL_ctrl(c->ssl, SSL_CTRL_MODE, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER,
                                        NULL);
                c->step = CONN_HANDSHAKE;
        }
        return c;
}

/* The connection to drop for a new one: the oldest still waiting for its
 * request, or else the oldest. */
static size_t conn_victim(struct conn *const *conns, size_t n)
{
        size_t best = 0;
        for (size_t i = 1; i < n; i++) {
                bool waiting = conns[i]->step != CONN_ANSWER, best_waiting = conns[best]->step != CONN_ANSWER;
                if ((waiting && !best_waiting) ||
                    (waiting == best_waiting && conns[i]->accepted_us < conns[best]->accepted_us))
                        best = i;
        }
        return best;
}

int http_server_run(struct http_server *s, int stop_fd)
{
        struct conn *conns[CONN_MAX + 1];
        struct pollfd p[CONN_MAX + 2];
        size_t n = 0;
        int r = 0;
        uint64_t accept_again_us = 0;   /* out of descriptors: accept from then on */
        for (;;) {
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                int timeout = -1;
                /* a negative fd is left out by poll */
                p[0] = (struct pollfd) { now >= accept_again_us ? s->fd : -1, POLLIN, 0 };
                if (now < accept_again_us)
                        timeout = (int) ((accept_again_us - now + 999) / 1000);
                p[1] = (struct pollfd) { stop_fd, POLLIN, 0 };
                for (size_t i = 0; i < n; i++) {
                        p[2 + i] = (struct pollfd) { conns[i]->fd, conns[i]->events, 0 };
                        uint64_t ms = conns[i]->deadline_us > now ? (conns[i]->deadline_us - now + 999) / 1000 : 0;
                        if (timeout < 0 || ms < (uint64_t) timeout)
                                timeout = ms > INT32_MAX ? INT32_MAX : (int) ms;
                }
                if (poll(p, 2 + n, timeout) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (p[1].revents)
                        break;
                now = now_usec(CLOCK_MONOTONIC);
                /* the connections first, then the new ones (p[] is theirs) */
                size_t kept = 0;
                for (size_t i = 0; i < n; i++) {
                        struct conn *c = conns[i];
                        bool live;
                        if (p[2 + i].revents)
                                live = conn_step(s, c, now);
                        else
                                live = now < c->deadline_us;
                        if (live && now >= c->deadline_us)
                                live = false;
                        if (live)
                                conns[kept++] = c;
                        else
                                conn_free(c);
                }
                n = kept;
                if (!(p[0].revents & POLLIN))
                        continue;
                int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0) {
                        /* out of descriptors: the pending client stays
                         * queued; make room as for a client over the cap,
                         * or, with none to drop, pause (else the listener
                         * wakes this loop at once, forever) */
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                                if (n > 0) {
                                        size_t v = conn_victim(conns, n);
                                        conn_free(conns[v]);
                                        conns[v] = conns[--n];
                                } else {
                                        accept_again_us = now + 100000;
                                }
                        }
                        continue;
                }
                struct conn *c = conn_new(s, fd, now);
                if (!c)
                        continue;
                if (n == CONN_MAX) {
                        size_t v = conn_victim(conns, n);
                        conn_free(conns[v]);
                        conns[v] = conns[--n];
                }
                conns[n++] = c;
                /* the request may be there already */
                if (!conn_step(s, c, now))
                        conn_free(conns[--n]);
        }
        for (size_t i = 0; i < n; i++)
                conn_free(conns[i]);
        return r;
}
