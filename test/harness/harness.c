//go:build ignore

/*
 * harness.c - host harness that loads a Fluent Bit Go *input* plugin (.so,
 * built with -buildmode=c-shared) exactly the way Fluent Bit v5.1.1 does and
 * drives it through the same C ABI, in the same order, on the same threads.
 *
 * (The "go:build ignore" line above only keeps `go test ./test/harness/` from
 * treating this file as cgo source; it is an ordinary C comment.)
 *
 * Build:  cc -std=c11 -O2 -Wall -Wextra -pthread -o harness harness.c -ldl
 *
 * References (fluent/fluent-bit v5.1.1): src/proxy/go/go.{c,h},
 * src/flb_plugin_proxy.c, include/fluent-bit/flb_plugin_proxy.h,
 * include/fluent-bit/flb_api.h, src/flb_input.c, src/flb_input_thread.c,
 * src/flb_input_chunk.c, src/flb_env.c, src/flb_log_event_decoder.c,
 * lib/msgpack-c (unpack_template.h).  See /work/shared/docs/fluent-bit-go-abi.md.
 *
 * Usage: see usage() below or run `harness --help`.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* ABI mirrors (must match Fluent Bit v5.1.1 byte for byte)            */
/* ------------------------------------------------------------------ */

#define FLB_PROXY_INPUT_PLUGIN 1
#define FLB_PROXY_GOLANG 11

/* include/fluent-bit/flb_plugin_proxy.h */
struct flb_plugin_proxy_def {
    int type;
    int proxy;
    int flags;
    char *name;
    char *description;
    int event_type;
    void *config_map; /* struct flb_config_map * (NEW in v5.1.1) */
};

struct mk_list_mirror {
    struct mk_list_mirror *prev, *next;
};

struct flb_plugin_proxy {
    struct flb_plugin_proxy_def *def;
    struct flb_api *api;
    void *instance;    /* last initialised input instance (shared!) */
    void *dso_handler; /* dlopen handle */
    void *data;        /* struct flbgo_input_plugin * */
    struct mk_list_mirror _head;
};

struct flb_plugin_input_proxy_context {
    int coll_fd;
    void *remote_context;
    struct flb_plugin_proxy *proxy;
};

/* include/fluent-bit/flb_api.h */
struct flb_api {
    const char *(*output_get_property)(const char *, void *);
    const char *(*input_get_property)(const char *, void *);
    void *(*output_get_cmt_instance)(void *);
    void *(*input_get_cmt_instance)(void *);
    void (*log_print)(int, const char *, int, const char *, ...);
    int (*input_log_check)(void *, int);
    int (*output_log_check)(void *, int);
    const char *(*custom_get_property)(const char *, void *);
    int (*custom_log_check)(void *, int);
};

/* src/proxy/go/go.h */
struct flbgo_input_plugin {
    char *name;
    void *api;
    void *i_ins;
    struct flb_plugin_input_proxy_context *context;
    int (*cb_init)(struct flbgo_input_plugin *);
    int (*cb_collect)(void **, size_t *);
    int (*cb_collect_ctx)(void *, void **, size_t *);
    int (*cb_cleanup)(void *);
    int (*cb_cleanup_ctx)(void *, void *);
    int (*cb_exit)(void);
};

/* include/fluent-bit/flb_log.h */
#define FLB_LOG_OFF 0
#define FLB_LOG_ERROR 1
#define FLB_LOG_WARN 2
#define FLB_LOG_INFO 3
#define FLB_LOG_DEBUG 4
#define FLB_LOG_TRACE 5
#define FLB_LOG_HELP 6
#define FLB_LOG_IDEBUG 10

/* ------------------------------------------------------------------ */
/* small utilities                                                     */
/* ------------------------------------------------------------------ */

static pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }

/* floor() without libm (the build line has no -lm) */
static double floor_(double x)
{
    double t = (double)(int64_t)x;
    return (t > x) ? t - 1.0 : t;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void abs_deadline(struct timespec *out, double mono_deadline)
{
    /* condvars are set to CLOCK_MONOTONIC below */
    double s = floor_(mono_deadline);
    out->tv_sec = (time_t)s;
    out->tv_nsec = (long)((mono_deadline - s) * 1e9);
    if (out->tv_nsec >= 1000000000L) {
        out->tv_sec++;
        out->tv_nsec -= 1000000000L;
    }
    if (out->tv_nsec < 0) out->tv_nsec = 0;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "[harness] FATAL: out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

static void *xcalloc(size_t a, size_t b)
{
    void *p = calloc(a ? a : 1, b ? b : 1);
    if (!p) {
        fprintf(stderr, "[harness] FATAL: out of memory\n");
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *p = xmalloc(n + 1);
    memcpy(p, s, n + 1);
    return p;
}

/* growable byte buffer */
struct sbuf {
    char *p;
    size_t len, cap;
};

static void sb_reserve(struct sbuf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1) {
        fprintf(stderr, "[harness] FATAL: buffer size overflow\n");
        abort();
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t nc = b->cap ? b->cap : 256;
    while (nc < need) {
        if (nc > SIZE_MAX / 2) {
            nc = need;
            break;
        }
        nc *= 2;
    }
    char *np = realloc(b->p, nc);
    if (!np) {
        fprintf(stderr, "[harness] FATAL: out of memory\n");
        abort();
    }
    b->p = np;
    b->cap = nc;
}

static void sb_add(struct sbuf *b, const void *d, size_t n)
{
    sb_reserve(b, n);
    memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_adds(struct sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_addc(struct sbuf *b, char c) { sb_add(b, &c, 1); }

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    sb_reserve(b, (size_t)n);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
}

static void sb_free(struct sbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ------------------------------------------------------------------ */
/* logging (Fluent Bit style lines on stderr)                          */
/* ------------------------------------------------------------------ */

static const char *level_title(int type)
{
    switch (type) {
    case FLB_LOG_ERROR: return "error";
    case FLB_LOG_WARN: return " warn";
    case FLB_LOG_INFO: return " info";
    case FLB_LOG_DEBUG: return "debug";
    case FLB_LOG_TRACE: return "trace";
    case FLB_LOG_HELP: return " help";
    case FLB_LOG_IDEBUG: return "debug";
    default: return "  log";
    }
}

static void log_line(int type, const char *body)
{
    struct timespec ts;
    struct tm tm;
    char hdr[96];
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    int h = snprintf(hdr, sizeof(hdr), "[%04d/%02d/%02d %02d:%02d:%02d.%03ld] [%s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L, level_title(type));
    if (h < 0) return;
    struct sbuf b = {0};
    sb_add(&b, hdr, (size_t)h);
    sb_adds(&b, body);
    if (b.len == 0 || b.p[b.len - 1] != '\n') sb_addc(&b, '\n');
    /* one write() so lines from different threads do not interleave */
    size_t off = 0;
    while (off < b.len) {
        ssize_t w = write(STDERR_FILENO, b.p + off, b.len - off);
        if (w <= 0) {
            if (w < 0 && errno == EINTR) continue;
            break;
        }
        off += (size_t)w;
    }
    sb_free(&b);
}

static void hlog(int type, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hlog(int type, const char *fmt, ...)
{
    char body[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    char line[2100];
    snprintf(line, sizeof(line), "[harness] %s", body);
    log_line(type, line);
}

/* ------------------------------------------------------------------ */
/* configuration                                                       */
/* ------------------------------------------------------------------ */

struct kv {
    char *key;
    char *val; /* NULL when the translated value was empty (like Fluent Bit) */
};

struct inst_cfg {
    char *name_arg; /* --input NAME */
    char **raw_keys;
    char **raw_vals;
    size_t nprops;
    char *tag_arg; /* --tag TAG (NULL if not given) */
};

static struct {
    double interval_s;
    double grace_s;
    const char *out_path;
    int ctx_legacy;
    double exit_after_s;
    int64_t mem_buf_limit;
    double drain_bps;
    int hot_reload;
    double hot_reload_after_s;
    int emulate_pause_bug;
    const char *so_path;
    struct inst_cfg *inputs;
    size_t ninputs;
} opt = {
    .interval_s = 1.0,
    .grace_s = 5.0,
    .out_path = NULL,
    .ctx_legacy = 0,
    .exit_after_s = -1,
    .mem_buf_limit = 0,
    .drain_bps = 0,
    .hot_reload = 0,
    .hot_reload_after_s = -1,
};

/* ------------------------------------------------------------------ */
/* global state                                                        */
/* ------------------------------------------------------------------ */

#define INST_MAGIC 0x464c42494e535431ULL /* "FLBINST1" */

enum cmd_type { CMD_START = 1, CMD_PAUSE, CMD_RESUME, CMD_EXIT };

#define CMDQ_CAP 64

struct gen;

struct inst {
    uint64_t magic; /* first: this struct is the opaque i_ins */
    struct gen *gen; /* NULL once the generation is gone (after a hot reload) */
    int gen_id;
    int idx; /* per-generation instance id (Fluent Bit: "<name>.<id>") */
    int config_idx;
    char name[128];
    char *tag;
    struct kv *props;
    size_t nprops;
    int log_level;
    int64_t mem_buf_limit;

    struct flb_plugin_input_proxy_context *ctx;

    pthread_t th;
    int th_started;
    pid_t tid;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    int cmdq[CMDQ_CAP];
    int cmd_arg[CMDQ_CAP];
    int cmd_head, cmd_len;

    int init_status; /* 0 pending, 1 ok, -1 failed */
    int init_ret;
    int collecting;  /* collector timer active */
    int exited;

    /* emulated mem_buf_limit accounting (guarded by mu) */
    double buffered;
    int mem_paused;

    /* counters (written by the instance thread; read after join or racy for display) */
    uint64_t callbacks, empty, cb_errors, records, bytes, malformed, dropped, skipped,
        lost, pauses, resumes, null_data;
    int leak_warned;
};

struct gen {
    int id;
    void *dso;
    struct flb_plugin_proxy_def *def;
    struct flb_plugin_proxy *proxy;
    struct flbgo_input_plugin *plugin;
    struct flb_api *api;
    int (*cb_pre_register)(int);
    int (*cb_register)(struct flb_plugin_proxy_def *);
    void (*cb_unregister)(struct flb_plugin_proxy_def *);
    int (*cb_pre_run)(int);
    void (*cb_pause)(void);
    void (*cb_resume)(void);
    void (*cb_pre_exit)(int);
    struct inst **insts;
    size_t ninsts;
    int use_ctx_collect;
    int use_ctx_cleanup;
};

static FILE *g_out;
static pthread_mutex_t g_out_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int g_outputs_stopped;
static atomic_int g_ingestion_active;
static atomic_ulong g_total_malformed, g_total_cb_errors, g_total_partial;
static pthread_condattr_t g_cattr;
static pthread_mutex_t g_init_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_init_cv;
static int g_sigpipe[2] = {-1, -1};

/* all instances ever created (for the final summary), in creation order */
static struct inst **g_all;
static size_t g_nall, g_capall;

/* ------------------------------------------------------------------ */
/* ${ENV} expansion: port of flb_env_var_translate() (src/flb_env.c)   */
/* ------------------------------------------------------------------ */

static char *env_translate(const char *value)
{
    size_t len = strlen(value);
    struct sbuf buf = {0};
    int have_var = 0;
    const char *v_start = NULL, *v_end = NULL;
    char tmp[4096];
    sb_reserve(&buf, 0);

    for (size_t i = 0; i < len; i++) {
        v_start = strstr(value + i, "${");
        if (!v_start) break;
        v_end = strstr(value + i, "}");
        if (!v_end) break;
        v_start += 2;
        ptrdiff_t v_len = v_end - v_start;
        if (v_len <= 0 || v_len >= (ptrdiff_t)sizeof(tmp)) break;
        memcpy(tmp, v_start, (size_t)v_len);
        tmp[v_len] = '\0';
        have_var = 1;

        char *v_sep = strstr(tmp, ":");
        const char *def_val = NULL;
        if (v_sep && v_sep[1] == '-') {
            def_val = v_sep + 2;
            *v_sep = '\0';
        }
        ptrdiff_t pre_var = (v_start - 2) - (value + i);
        if (pre_var > 0) sb_add(&buf, value + i, (size_t)pre_var);

        const char *env_var = getenv(tmp);
        if (env_var && !(def_val && strlen(env_var) == 0)) {
            sb_adds(&buf, env_var);
        }
        else if (def_val) {
            sb_adds(&buf, def_val);
        }
        i += (size_t)((v_start - (value + i)) + v_len);
    }
    if (v_end) {
        if (have_var && (value + len) - (v_end + 1) > 0) {
            sb_add(&buf, v_end + 1, (size_t)((value + len) - (v_end + 1)));
        }
    }
    if (buf.len == 0) {
        if (!have_var) sb_adds(&buf, value);
    }
    return buf.p; /* caller frees */
}

static int parse_log_level(const char *s)
{
    if (!strcasecmp(s, "off")) return FLB_LOG_OFF;
    if (!strcasecmp(s, "error")) return FLB_LOG_ERROR;
    if (!strcasecmp(s, "warn") || !strcasecmp(s, "warning")) return FLB_LOG_WARN;
    if (!strcasecmp(s, "info")) return FLB_LOG_INFO;
    if (!strcasecmp(s, "debug")) return FLB_LOG_DEBUG;
    if (!strcasecmp(s, "trace")) return FLB_LOG_TRACE;
    return -1;
}

/* port of flb_utils_size_to_bytes() (src/flb_utils.c): K/M/G = 1000-based */
static int64_t size_to_bytes(const char *size)
{
    if (!size) return -1;
    if (!strcasecmp(size, "false")) return 0;
    size_t len = strlen(size);
    if (len == 0) return -1;
    double val = atof(size);
    size_t plen = 0;
    for (size_t i = len - 1; i > 0; i--) {
        if (isdigit((unsigned char)size[i])) break;
        plen++;
    }
    if (plen == 0) return (int64_t)val;
    if (plen > 2) return -1;
    char t[3] = {0};
    for (size_t i = 0; i < plen; i++) t[i] = (char)toupper((unsigned char)size[len - plen + i]);
    if (plen == 2 && t[1] != 'B') return -1;
    if (t[0] == 'K') return (val >= 9223372036854775.0) ? -1 : (int64_t)(val * 1000);
    if (t[0] == 'M') return (val >= 9223372036854.0) ? -1 : (int64_t)(val * 1000000);
    if (t[0] == 'G') return (val >= 9223372036.0) ? -1 : (int64_t)(val * 1000000000);
    return -1;
}

static int key_is(const char *k, const char *name) { return strcasecmp(k, name) == 0; }

/*
 * Apply one property like flb_input_set_property() (src/flb_input.c v5.1.1):
 * core keys are consumed and NOT visible through input_get_property.
 * Returns 0 ok, -1 invalid value (Fluent Bit refuses to start).
 */
static int inst_set_property(struct inst *in, const char *k, const char *v)
{
    char *tmp = env_translate(v);
    if (tmp && tmp[0] == '\0') {
        free(tmp);
        tmp = NULL;
    }
    static const char *const consumed_if_value[] = {
        "log_suppress_interval", "routable", "alias", "ipv6", "tls", "tls.verify",
        "tls.verify_client_cert", "tls.verify_hostname", "tls.debug", "storage.type",
        "threaded", "thread.ring_buffer.capacity", "thread.ring_buffer.window",
        "rate_window", "rate_gate", "rate_gate.max_bytes", "rate_gate.max_records",
        "rate_gate.backpressure", "rate_gate.resume_ratio",
        "storage.pause_on_chunks_overlimit", NULL};
    static const char *const consumed_always[] = {
        "listen", "host", "port", "tls.vhost", "tls.ca_path", "tls.ca_file",
        "tls.crt_file", "tls.key_file", "tls.key_passwd", "tls.min_version",
        "tls.max_version", "tls.ciphers", NULL};

    if (key_is(k, "tag") && tmp) {
        free(in->tag);
        in->tag = tmp;
        return 0;
    }
    if (key_is(k, "log_level") && tmp) {
        int l = parse_log_level(tmp);
        free(tmp);
        if (l < 0) return -1;
        in->log_level = l;
        return 0;
    }
    if (key_is(k, "mem_buf_limit") && tmp) {
        int64_t l = size_to_bytes(tmp);
        free(tmp);
        if (l < 0) return -1;
        in->mem_buf_limit = l;
        return 0;
    }
    if (key_is(k, "threaded") && tmp) {
        hlog(FLB_LOG_WARN, "[%s] 'threaded' is accepted but ignored by the harness "
                           "(Fluent Bit: 'threaded off' runs the plugin on the engine thread)",
             in->name);
    }
    for (int i = 0; consumed_always[i]; i++) {
        if (key_is(k, consumed_always[i])) {
            free(tmp);
            return 0;
        }
    }
    if (tmp) {
        for (int i = 0; consumed_if_value[i]; i++) {
            if (key_is(k, consumed_if_value[i])) {
                free(tmp);
                return 0;
            }
        }
        if (!strncasecmp(k, "net.", 4) || !strncasecmp(k, "oauth2", 6)) {
            free(tmp);
            return 0;
        }
    }
    /* ordinary property: appended; lookup returns the first match */
    in->props = realloc(in->props, (in->nprops + 1) * sizeof(*in->props));
    if (!in->props) {
        fprintf(stderr, "[harness] FATAL: out of memory\n");
        abort();
    }
    in->props[in->nprops].key = xstrdup(k);
    in->props[in->nprops].val = tmp;
    in->nprops++;
    return 0;
}

/* ------------------------------------------------------------------ */
/* flb_api implementation                                              */
/* ------------------------------------------------------------------ */

static struct inst *as_inst(void *p, const char *fn)
{
    struct inst *in = p;
    if (!in || in->magic != INST_MAGIC) {
        hlog(FLB_LOG_ERROR, "FATAL: plugin called flb_api->%s with an invalid instance pointer %p "
                            "(not the i_ins that was passed in plugin->i_ins)",
             fn, p);
        abort();
    }
    return in;
}

/* flb_input_get_property(): returns NULL for a missing key (fluent-bit-go turns it into "") */
static const char *api_input_get_property(const char *key, void *ins)
{
    struct inst *in = as_inst(ins, "input_get_property");
    if (!key || key[0] == '\0') return NULL;
    for (size_t i = 0; i < in->nprops; i++) {
        if (strcasecmp(in->props[i].key, key) == 0) return in->props[i].val;
    }
    return NULL;
}

static int api_input_log_check(void *ins, int level)
{
    struct inst *in = as_inst(ins, "input_log_check");
    return in->log_level < level ? 0 : 1;
}

static void api_log_print(int type, const char *file, int line, const char *fmt, ...)
{
    char body[4096];
    va_list ap;
    va_start(ap, fmt);
    if (fmt) vsnprintf(body, sizeof(body), fmt, ap);
    else body[0] = '\0';
    va_end(ap);
    if (file && type == FLB_LOG_TRACE) {
        char b2[4400];
        snprintf(b2, sizeof(b2), "[%s:%d] %s", file, line, body);
        log_line(type, b2);
    }
    else {
        log_line(type, body);
    }
}

static void api_fatal(const char *fn)
{
    hlog(FLB_LOG_ERROR, "FATAL: plugin called flb_api->%s, which the harness does not implement", fn);
    abort();
}
static const char *api_output_get_property(const char *k, void *i) { (void)k; (void)i; api_fatal("output_get_property"); return NULL; }
static void *api_output_get_cmt_instance(void *i) { (void)i; api_fatal("output_get_cmt_instance"); return NULL; }
static void *api_input_get_cmt_instance(void *i) { (void)i; api_fatal("input_get_cmt_instance"); return NULL; }
static int api_output_log_check(void *i, int l) { (void)i; (void)l; api_fatal("output_log_check"); return 0; }
static const char *api_custom_get_property(const char *k, void *i) { (void)k; (void)i; api_fatal("custom_get_property"); return NULL; }
static int api_custom_log_check(void *i, int l) { (void)i; (void)l; api_fatal("custom_log_check"); return 0; }

/* ------------------------------------------------------------------ */
/* strict msgpack reader emulating msgpack-c's msgpack_unpack_next()   */
/* ------------------------------------------------------------------ */

enum mp_type { MP_NIL, MP_BOOL, MP_POS, MP_NEG, MP_F32, MP_F64, MP_STR, MP_BIN, MP_ARR, MP_MAP, MP_EXT };

static const char *mp_type_name(int t)
{
    static const char *n[] = {"nil", "bool", "positive int", "negative int", "float32",
                              "float64", "str", "bin", "array", "map", "ext"};
    return (t >= 0 && t <= MP_EXT) ? n[t] : "?";
}

struct mpo {
    int type;
    int b;
    uint64_t u;
    int64_t i;
    double f;
    const uint8_t *p; /* str/bin/ext payload */
    uint32_t n;       /* payload length, or element count for arr/map */
    int8_t ext_type;
    size_t end; /* scalars/str/bin/ext: offset after value; arr/map: offset of first child */
};

#define MP_OK 1
#define MP_CONTINUE 0 /* insufficient data */
#define MP_PARSE_ERROR -1
#define MP_DEPTH_ERROR -2 /* msgpack-c: MSGPACK_UNPACK_NOMEM_ERROR when nesting > 32 */

#define MP_EMBED_STACK_SIZE 32 /* lib/msgpack-c/include/msgpack/unpack_define.h */

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

static int mp_head(const uint8_t *b, size_t len, size_t off, struct mpo *o)
{
    memset(o, 0, sizeof(*o));
    if (off >= len) return MP_CONTINUE;
    uint8_t c = b[off];
    size_t avail = len - off - 1;
    const uint8_t *q = b + off + 1;
#define NEED(k)                              \
    do {                                     \
        if (avail < (size_t)(k)) return MP_CONTINUE; \
    } while (0)
    if (c <= 0x7f) {
        o->type = MP_POS;
        o->u = c;
        o->end = off + 1;
        return MP_OK;
    }
    if (c >= 0xe0) {
        o->type = MP_NEG;
        o->i = (int8_t)c;
        o->end = off + 1;
        return MP_OK;
    }
    if (c >= 0xa0 && c <= 0xbf) {
        uint32_t n = c & 0x1f;
        NEED(n);
        o->type = MP_STR;
        o->p = q;
        o->n = n;
        o->end = off + 1 + n;
        return MP_OK;
    }
    if (c >= 0x90 && c <= 0x9f) {
        o->type = MP_ARR;
        o->n = c & 0x0f;
        o->end = off + 1;
        return MP_OK;
    }
    if (c >= 0x80 && c <= 0x8f) {
        o->type = MP_MAP;
        o->n = c & 0x0f;
        o->end = off + 1;
        return MP_OK;
    }
    switch (c) {
    case 0xc0: o->type = MP_NIL; o->end = off + 1; return MP_OK;
    case 0xc2: o->type = MP_BOOL; o->b = 0; o->end = off + 1; return MP_OK;
    case 0xc3: o->type = MP_BOOL; o->b = 1; o->end = off + 1; return MP_OK;
    case 0xc4: case 0xc5: case 0xc6: { /* bin 8/16/32 */
        int w = 1 << (c & 0x03);
        NEED(w);
        uint64_t n = be(q, w);
        if (avail - (size_t)w < n) return MP_CONTINUE;
        o->type = MP_BIN; o->p = q + w; o->n = (uint32_t)n; o->end = off + 1 + (size_t)w + (size_t)n;
        return MP_OK;
    }
    case 0xc7: case 0xc8: case 0xc9: { /* ext 8/16/32 */
        int w = 1 << ((c + 1) & 0x03);
        NEED(w);
        uint64_t n = be(q, w);
        if (avail - (size_t)w < n + 1) return MP_CONTINUE;
        o->type = MP_EXT; o->ext_type = (int8_t)q[w]; o->p = q + w + 1; o->n = (uint32_t)n;
        o->end = off + 1 + (size_t)w + 1 + (size_t)n;
        return MP_OK;
    }
    case 0xca: {
        NEED(4);
        union { uint32_t i; float f; } m;
        m.i = (uint32_t)be(q, 4);
        o->type = MP_F32; o->f = m.f; o->end = off + 5;
        return MP_OK;
    }
    case 0xcb: {
        NEED(8);
        union { uint64_t i; double f; } m;
        m.i = be(q, 8);
        o->type = MP_F64; o->f = m.f; o->end = off + 9;
        return MP_OK;
    }
    case 0xcc: case 0xcd: case 0xce: case 0xcf: {
        int w = 1 << (c & 0x03);
        NEED(w);
        o->type = MP_POS; o->u = be(q, w); o->end = off + 1 + (size_t)w;
        return MP_OK;
    }
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
        int w = 1 << (c & 0x03);
        NEED(w);
        uint64_t raw = be(q, w);
        int64_t v;
        if (w == 1) v = (int8_t)raw;
        else if (w == 2) v = (int16_t)raw;
        else if (w == 4) v = (int32_t)raw;
        else v = (int64_t)raw;
        /* msgpack-c: signed ints >= 0 become POSITIVE_INTEGER */
        if (v >= 0) { o->type = MP_POS; o->u = (uint64_t)v; }
        else { o->type = MP_NEG; o->i = v; }
        o->end = off + 1 + (size_t)w;
        return MP_OK;
    }
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: { /* fixext 1/2/4/8/16 */
        uint32_t n = (c == 0xd8) ? 16u : (1u << (c & 0x03));
        NEED(n + 1);
        o->type = MP_EXT; o->ext_type = (int8_t)q[0]; o->p = q + 1; o->n = n; o->end = off + 2 + n;
        return MP_OK;
    }
    case 0xd9: case 0xda: case 0xdb: { /* str 8/16/32 */
        int w = 1 << ((c & 0x03) - 1);
        NEED(w);
        uint64_t n = be(q, w);
        if (avail - (size_t)w < n) return MP_CONTINUE;
        o->type = MP_STR; o->p = q + w; o->n = (uint32_t)n; o->end = off + 1 + (size_t)w + (size_t)n;
        return MP_OK;
    }
    case 0xdc: case 0xdd: case 0xde: case 0xdf: {
        int w = 2 << (c & 0x01);
        NEED(w);
        o->type = (c <= 0xdd) ? MP_ARR : MP_MAP;
        o->n = (uint32_t)be(q, w);
        o->end = off + 1 + (size_t)w;
        return MP_OK;
    }
    default: /* 0xc1 (never used) */
        return MP_PARSE_ERROR;
    }
#undef NEED
}

/* Validate/skip one complete object. top = number of open containers (msgpack-c's stack top). */
static int mp_skip(const uint8_t *b, size_t len, size_t off, int top, size_t *end)
{
    struct mpo o;
    int r = mp_head(b, len, off, &o);
    if (r != MP_OK) return r;
    if (o.type != MP_ARR && o.type != MP_MAP) {
        *end = o.end;
        return MP_OK;
    }
    if (top >= MP_EMBED_STACK_SIZE) return MP_DEPTH_ERROR;
    uint64_t children = (o.type == MP_MAP) ? 2ull * o.n : o.n;
    size_t cur = o.end;
    for (uint64_t k = 0; k < children; k++) {
        r = mp_skip(b, len, cur, top + 1, &cur);
        if (r != MP_OK) return r;
    }
    *end = cur;
    return MP_OK;
}

/* navigation helpers on already-validated data */
static size_t mp_next(const uint8_t *b, size_t len, size_t off)
{
    size_t e = off;
    if (mp_skip(b, len, off, 0, &e) != MP_OK) return len;
    return e;
}

/* ------------------------------------------------------------------ */
/* JSON rendering                                                      */
/* ------------------------------------------------------------------ */

static void json_str(struct sbuf *o, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    sb_addc(o, '"');
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            switch (c) {
            case '"': sb_adds(o, "\\\""); break;
            case '\\': sb_adds(o, "\\\\"); break;
            case '\n': sb_adds(o, "\\n"); break;
            case '\r': sb_adds(o, "\\r"); break;
            case '\t': sb_adds(o, "\\t"); break;
            case '\b': sb_adds(o, "\\b"); break;
            case '\f': sb_adds(o, "\\f"); break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char e[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
                    sb_adds(o, e);
                }
                else sb_addc(o, (char)c);
            }
            i++;
            continue;
        }
        /* validate one UTF-8 sequence; invalid bytes become U+FFFD */
        size_t need = 0;
        uint32_t cp = 0, min = 0;
        if ((c & 0xe0) == 0xc0) { need = 1; cp = c & 0x1f; min = 0x80; }
        else if ((c & 0xf0) == 0xe0) { need = 2; cp = c & 0x0f; min = 0x800; }
        else if ((c & 0xf8) == 0xf0) { need = 3; cp = c & 0x07; min = 0x10000; }
        int ok = need > 0 && i + need < n;
        if (ok) {
            for (size_t k = 1; k <= need; k++) {
                if ((s[i + k] & 0xc0) != 0x80) { ok = 0; break; }
                cp = (cp << 6) | (s[i + k] & 0x3f);
            }
        }
        if (ok && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) ok = 0;
        if (ok) {
            sb_add(o, s + i, need + 1);
            i += need + 1;
        }
        else {
            sb_adds(o, "\\ufffd");
            i++;
        }
    }
    sb_addc(o, '"');
}

static void b64(struct sbuf *o, const uint8_t *p, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    sb_addc(o, '"');
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8) | p[i + 2];
        char q[4] = {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
        sb_add(o, q, 4);
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        char q[4] = {t[v >> 18], t[(v >> 12) & 63], '=', '='};
        sb_add(o, q, 4);
    }
    else if (n - i == 2) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8);
        char q[4] = {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
        sb_add(o, q, 4);
    }
    sb_addc(o, '"');
}

static void json_double(struct sbuf *o, double d, int is32)
{
    if (isnan(d)) { sb_adds(o, "\"NaN\""); return; }
    if (isinf(d)) { sb_adds(o, d > 0 ? "\"Infinity\"" : "\"-Infinity\""); return; }
    char tmp[64];
    snprintf(tmp, sizeof(tmp), is32 ? "%.9g" : "%.17g", d);
    /* make sure it reads back as a JSON number with a fraction or exponent */
    sb_adds(o, tmp);
    if (!strpbrk(tmp, ".eE")) sb_adds(o, ".0");
}

/* returns offset after the value */
static size_t json_value(struct sbuf *o, const uint8_t *b, size_t len, size_t off)
{
    struct mpo v;
    if (mp_head(b, len, off, &v) != MP_OK) {
        sb_adds(o, "null");
        return len;
    }
    switch (v.type) {
    case MP_NIL: sb_adds(o, "null"); return v.end;
    case MP_BOOL: sb_adds(o, v.b ? "true" : "false"); return v.end;
    case MP_POS: sb_printf(o, "%" PRIu64, v.u); return v.end;
    case MP_NEG: sb_printf(o, "%" PRId64, v.i); return v.end;
    case MP_F32: json_double(o, v.f, 1); return v.end;
    case MP_F64: json_double(o, v.f, 0); return v.end;
    case MP_STR: json_str(o, v.p, v.n); return v.end;
    case MP_BIN:
        sb_adds(o, "{\"$bin\":");
        b64(o, v.p, v.n);
        sb_addc(o, '}');
        return v.end;
    case MP_EXT:
        if (v.ext_type == 0 && v.n == 8) {
            uint32_t s = (uint32_t)be(v.p, 4), ns = (uint32_t)be(v.p + 4, 4);
            sb_printf(o, "{\"$eventtime\":%" PRIu32 ".%09" PRIu32 "}", s, ns);
        }
        else {
            sb_printf(o, "{\"$ext\":%d,\"data\":", (int)v.ext_type);
            b64(o, v.p, v.n);
            sb_addc(o, '}');
        }
        return v.end;
    case MP_ARR: {
        size_t cur = v.end;
        sb_addc(o, '[');
        for (uint32_t k = 0; k < v.n; k++) {
            if (k) sb_addc(o, ',');
            cur = json_value(o, b, len, cur);
        }
        sb_addc(o, ']');
        return cur;
    }
    case MP_MAP: {
        size_t cur = v.end;
        sb_addc(o, '{');
        for (uint32_t k = 0; k < v.n; k++) {
            if (k) sb_addc(o, ',');
            struct mpo key;
            if (mp_head(b, len, cur, &key) == MP_OK && key.type == MP_STR) {
                json_str(o, key.p, key.n);
                cur = key.end;
            }
            else {
                /* non-string key: render it as JSON text and use that as the key */
                struct sbuf kb = {0};
                cur = json_value(&kb, b, len, cur);
                json_str(o, (const uint8_t *)(kb.p ? kb.p : ""), kb.len);
                sb_free(&kb);
            }
            sb_addc(o, ':');
            cur = json_value(o, b, len, cur);
        }
        sb_addc(o, '}');
        return cur;
    }
    }
    sb_adds(o, "null");
    return v.end;
}

static int send_cmd(struct inst *in, int cmd, int arg);

/* ------------------------------------------------------------------ */
/* event decoding, port of flb_log_event_decoder (v5.1.1)              */
/* ------------------------------------------------------------------ */

enum {
    DEC_OK = 0,
    DEC_WRONG_ROOT_TYPE,
    DEC_WRONG_ROOT_SIZE,
    DEC_WRONG_HEADER_SIZE,
    DEC_WRONG_TIMESTAMP_TYPE,
    DEC_WRONG_METADATA_TYPE,
    DEC_WRONG_BODY_TYPE,
};

static const char *dec_err_str(int e)
{
    switch (e) {
    case DEC_WRONG_ROOT_TYPE: return "Wrong root type (event must be a 2-element array)";
    case DEC_WRONG_ROOT_SIZE: return "Wrong root size (event array must have exactly 2 elements)";
    case DEC_WRONG_HEADER_SIZE: return "Wrong header size ([ts, metadata] header must have exactly 2 elements)";
    case DEC_WRONG_TIMESTAMP_TYPE: return "Wrong timestamp type (need positive int, float64, or ext type 0 size 8 EventTime)";
    case DEC_WRONG_METADATA_TYPE: return "Wrong metadata type (must be a map)";
    case DEC_WRONG_BODY_TYPE: return "Wrong body type (must be a map)";
    }
    return "Success";
}

struct event {
    int64_t sec;
    long nsec;
    int v2;
    size_t meta_off; /* valid if v2 */
    size_t body_off;
    int record_type; /* 0 normal, 1 group start, 2 group end, -1 invalid negative ts (skipped) */
    char why[160];
};

static int decode_event(const uint8_t *b, size_t len, size_t off, struct event *ev)
{
    struct mpo root, hdr, ts, meta, body;
    memset(ev, 0, sizeof(*ev));
    mp_head(b, len, off, &root);
    if (root.type != MP_ARR) return DEC_WRONG_ROOT_TYPE;
    if (root.n != 2) return DEC_WRONG_ROOT_SIZE;
    size_t e0 = root.end;
    size_t e1 = mp_next(b, len, e0);
    mp_head(b, len, e0, &hdr);
    size_t ts_off;
    int meta_is_map = 1;
    if (hdr.type == MP_ARR) {
        if (hdr.n != 2) return DEC_WRONG_HEADER_SIZE;
        ts_off = hdr.end;
        size_t m_off = mp_next(b, len, ts_off);
        mp_head(b, len, m_off, &meta);
        meta_is_map = meta.type == MP_MAP;
        ev->v2 = 1;
        ev->meta_off = m_off;
    }
    else {
        ts_off = e0;
    }
    mp_head(b, len, ts_off, &ts);
    if (ts.type != MP_POS && ts.type != MP_F64 && ts.type != MP_EXT) {
        snprintf(ev->why, sizeof(ev->why), "timestamp is %s%s", mp_type_name(ts.type),
                 ts.type == MP_F32 ? " (msgpack-c reports FLOAT32, which the decoder rejects)" : "");
        return DEC_WRONG_TIMESTAMP_TYPE;
    }
    if (!meta_is_map) {
        snprintf(ev->why, sizeof(ev->why), "metadata is %s", mp_type_name(meta.type));
        return DEC_WRONG_METADATA_TYPE;
    }
    mp_head(b, len, e1, &body);
    if (body.type != MP_MAP) {
        snprintf(ev->why, sizeof(ev->why), "body is %s", mp_type_name(body.type));
        return DEC_WRONG_BODY_TYPE;
    }
    ev->body_off = e1;

    /* flb_log_event_decoder_decode_timestamp() */
    if (ts.type == MP_POS) {
        ev->sec = (int64_t)ts.u; /* (time_t) u64 */
        ev->nsec = 0;
    }
    else if (ts.type == MP_F64) {
        double f = ts.f;
        if (!(f > -9.2e18 && f < 9.2e18)) ev->sec = INT64_MIN; /* what cvttsd2si yields */
        else ev->sec = (int64_t)f;
        ev->nsec = (long)((f - (double)ev->sec) * 1000000000.0);
    }
    else {
        if (ts.ext_type != 0 || ts.n != 8) {
            snprintf(ev->why, sizeof(ev->why), "timestamp is ext type %d size %u", (int)ts.ext_type, ts.n);
            return DEC_WRONG_TIMESTAMP_TYPE;
        }
        uint32_t s = (uint32_t)be(ts.p, 4), ns = (uint32_t)be(ts.p + 4, 4);
        if (s == UINT32_MAX || s == UINT32_MAX - 1) {
            if (ns != 0) {
                snprintf(ev->why, sizeof(ev->why), "group-marker EventTime with nonzero nsec");
                return DEC_WRONG_TIMESTAMP_TYPE;
            }
            ev->sec = (s == UINT32_MAX) ? -1 : -2;
            ev->nsec = 0;
        }
        else {
            if (ns >= 1000000000u) {
                snprintf(ev->why, sizeof(ev->why), "EventTime nsec %u >= 1e9", ns);
                return DEC_WRONG_TIMESTAMP_TYPE;
            }
            ev->sec = s;
            ev->nsec = (long)ns;
        }
    }
    if (ev->sec >= 0) ev->record_type = 0;
    else if (ev->sec == -1) ev->record_type = 1;
    else if (ev->sec == -2) ev->record_type = 2;
    else ev->record_type = -1;
    return DEC_OK;
}

static void hexdump(char *dst, size_t dstsz, const uint8_t *p, size_t n)
{
    size_t o = 0;
    dst[0] = '\0';
    for (size_t i = 0; i < n && o + 4 < dstsz; i++) o += (size_t)snprintf(dst + o, dstsz - o, "%02x ", p[i]);
    if (o > 0) dst[o - 1] = '\0';
}

/*
 * Process one appended buffer (already copied). Emulates what happens to the
 * bytes inside Fluent Bit: the events are decoded one after the other; the
 * first decode error stops processing, so that event and every event after it
 * in this buffer are lost.
 */
static void process_buffer(struct inst *in, const uint8_t *b, size_t len, uint64_t cbno)
{
    struct sbuf out = {0};
    size_t off = 0;
    uint64_t idx = 0, accepted = 0, acc_bytes = 0;
    char hx[200];

    while (off < len) {
        size_t end = off;
        int r = mp_skip(b, len, off, 0, &end);
        if (r != MP_OK) {
            hexdump(hx, sizeof(hx), b + off, (len - off) < 48 ? (len - off) : 48);
            if (r == MP_CONTINUE) {
                hlog(FLB_LOG_ERROR,
                     "[%s] MALFORMED buffer (callback #%" PRIu64 "): %zu trailing byte(s) at offset %zu "
                     "do not form a complete msgpack object (buffer is not a whole number of "
                     "objects; Fluent Bit drops them). bytes: %s",
                     in->name, cbno, len - off, off, hx);
                atomic_fetch_add(&g_total_partial, 1);
            }
            else {
                hlog(FLB_LOG_ERROR,
                     "[%s] MALFORMED buffer (callback #%" PRIu64 "): msgpack deserialization failure "
                     "at offset %zu (event #%" PRIu64 ")%s; Fluent Bit drops the rest of this "
                     "buffer. bytes: %s",
                     in->name, cbno, off, idx,
                     r == MP_DEPTH_ERROR ? ": nesting deeper than 32 containers (msgpack-c "
                                           "MSGPACK_EMBED_STACK_SIZE)"
                                         : ": invalid msgpack byte",
                     hx);
                atomic_fetch_add(&g_total_malformed, 1);
            }
            in->malformed++;
            in->dropped++;
            break;
        }
        struct event ev;
        int dr = decode_event(b, len, off, &ev);
        if (dr != DEC_OK) {
            /* count whole objects lost after this one */
            uint64_t after = 0;
            size_t cur = end;
            while (cur < len) {
                size_t e2;
                if (mp_skip(b, len, cur, 0, &e2) != MP_OK) break;
                after++;
                cur = e2;
            }
            hexdump(hx, sizeof(hx), b + off, (end - off) < 48 ? (end - off) : 48);
            hlog(FLB_LOG_ERROR,
                 "[%s] MALFORMED event #%" PRIu64 " in callback #%" PRIu64 " at offset %zu: %s%s%s. "
                 "Fluent Bit drops it and the %" PRIu64 " event(s) after it in this buffer. bytes: %s",
                 in->name, idx, cbno, off, dec_err_str(dr), ev.why[0] ? ": " : "", ev.why, after, hx);
            in->malformed++;
            in->dropped += 1 + after;
            atomic_fetch_add(&g_total_malformed, 1);
            break;
        }
        if (ev.record_type != 0) {
            if (ev.record_type == -1) {
                hlog(FLB_LOG_ERROR,
                     "[%s] MALFORMED event #%" PRIu64 " in callback #%" PRIu64 ": negative timestamp "
                     "(sec=%" PRId64 "); Fluent Bit silently skips this record",
                     in->name, idx, cbno, ev.sec);
                in->malformed++;
                in->dropped++;
                atomic_fetch_add(&g_total_malformed, 1);
            }
            else {
                hlog(FLB_LOG_WARN, "[%s] event #%" PRIu64 " in callback #%" PRIu64 " is a group %s marker "
                                   "(not a record; skipped)",
                     in->name, idx, cbno, ev.record_type == 1 ? "start" : "end");
                in->skipped++;
            }
            off = end;
            idx++;
            continue;
        }
        /* accepted record -> JSON line */
        sb_adds(&out, "{\"tag\":");
        json_str(&out, (const uint8_t *)in->tag, strlen(in->tag));
        if (ev.nsec >= 0 && ev.nsec < 1000000000L)
            sb_printf(&out, ",\"ts\":%" PRId64 ".%09ld", ev.sec, ev.nsec);
        else
            sb_printf(&out, ",\"ts\":%.9f", (double)ev.sec + (double)ev.nsec / 1e9);
        if (ev.v2) {
            sb_adds(&out, ",\"metadata\":");
            json_value(&out, b, len, ev.meta_off);
        }
        sb_adds(&out, ",\"record\":");
        json_value(&out, b, len, ev.body_off);
        sb_adds(&out, "}\n");
        accepted++;
        acc_bytes += (uint64_t)(end - off);
        off = end;
        idx++;
    }

    if (atomic_load(&g_outputs_stopped)) {
        if (accepted > 0) {
            hlog(FLB_LOG_WARN,
                 "[%s] %" PRIu64 " record(s) from callback #%" PRIu64 " arrived after the outputs "
                 "were stopped during shutdown: Fluent Bit would LOSE them (not written)",
                 in->name, accepted, cbno);
        }
        in->lost += accepted;
    }
    else if (out.len > 0) {
        pthread_mutex_lock(&g_out_mu);
        fwrite(out.p, 1, out.len, g_out);
        fflush(g_out);
        pthread_mutex_unlock(&g_out_mu);
        in->records += accepted;
    }
    in->bytes += acc_bytes;
    sb_free(&out);

    /* emulated mem_buf_limit: flb_input_chunk_protect() after the append */
    if (in->mem_buf_limit > 0 && acc_bytes > 0) {
        int do_pause = 0;
        pthread_mutex_lock(&in->mu);
        in->buffered += (double)acc_bytes;
        if (in->buffered >= (double)in->mem_buf_limit && !in->mem_paused) {
            do_pause = 1;
        }
        pthread_mutex_unlock(&in->mu);
        if (do_pause) {
            hlog(FLB_LOG_WARN, "[input] %s paused (mem buf overlimit - event of size %" PRIu64
                               "B exceeded limit %" PRId64 " to %.0fB)",
                 in->name, acc_bytes, in->mem_buf_limit, in->buffered);
            /* flb_input_pause() then mem_buf_status = PAUSED; message is queued to this thread */
            send_cmd(in, CMD_PAUSE, 0);
            pthread_mutex_lock(&in->mu);
            in->mem_paused = 1;
            pthread_mutex_unlock(&in->mu);
        }
    }
}

/* ------------------------------------------------------------------ */
/* instance thread                                                     */
/* ------------------------------------------------------------------ */

static int send_cmd(struct inst *in, int cmd, int arg)
{
    int ok = 0;
    pthread_mutex_lock(&in->mu);
    if (in->cmd_len < CMDQ_CAP) {
        int slot = (in->cmd_head + in->cmd_len) % CMDQ_CAP;
        in->cmdq[slot] = cmd;
        in->cmd_arg[slot] = arg;
        in->cmd_len++;
        ok = 1;
        pthread_cond_signal(&in->cv);
    }
    pthread_mutex_unlock(&in->mu);
    if (!ok) hlog(FLB_LOG_ERROR, "[%s] command queue full, command %d dropped", in->name, cmd);
    return ok;
}

static void set_collecting(struct inst *target, int on)
{
    pthread_mutex_lock(&target->mu);
    target->collecting = on;
    pthread_cond_signal(&target->cv);
    pthread_mutex_unlock(&target->mu);
}

static void do_collect(struct inst *in)
{
    struct gen *g = in->gen;
    struct flbgo_input_plugin *pl = g->plugin;
    void *data = NULL;
    size_t size = 0;
    int ret;

    if (g->use_ctx_collect) ret = pl->cb_collect_ctx(in->ctx->remote_context, &data, &size);
    else ret = pl->cb_collect(&data, &size);
    uint64_t cbno = ++in->callbacks;

    if (size == 0) {
        /* flb_proxy_input_cb_collect(): "[GO] No logs are ingested", no cleanup */
        in->empty++;
        if (data != NULL && !in->leak_warned) {
            in->leak_warned = 1;
            hlog(FLB_LOG_WARN, "[%s] callback returned size=0 with data=%p: Fluent Bit neither ingests "
                               "nor cleans it up (leak). Return data=NULL for 'nothing'",
                 in->name, data);
        }
        return;
    }
    if (ret == -1) {
        in->cb_errors++;
        atomic_fetch_add(&g_total_cb_errors, 1);
        hlog(FLB_LOG_ERROR, "[%s] callback #%" PRIu64 " returned -1: %zu bytes DISCARDED and cleanup NOT "
                            "called (Fluent Bit: flb_plugin_proxy.c:93 errno; the buffer leaks)",
             in->name, cbno, size);
        return;
    }
    if (data == NULL) {
        in->null_data++;
        in->cb_errors++;
        atomic_fetch_add(&g_total_cb_errors, 1);
        hlog(FLB_LOG_ERROR, "[%s] callback #%" PRIu64 " returned size=%zu with data=NULL "
                            "(Fluent Bit would crash in memcpy)",
             in->name, cbno, size);
        return;
    }
    /* flb_input_log_append() copies the bytes before cleanup runs */
    uint8_t *copy = xmalloc(size);
    memcpy(copy, data, size);

    int cret;
    if (g->use_ctx_cleanup) cret = pl->cb_cleanup_ctx(in->ctx->remote_context, data);
    else if (pl->cb_cleanup) cret = pl->cb_cleanup(data);
    else {
        free(data); /* Fluent Bit frees it itself: must be C malloc memory */
        cret = 0;
    }
    if (cret == -1) hlog(FLB_LOG_WARN, "[%s] cleanup callback returned -1 (Fluent Bit logs errno only)", in->name);

    process_buffer(in, copy, size, cbno);
    free(copy);
}

static void run_pause(struct inst *in)
{
    struct gen *g = in->gen;
    in->pauses++;
    if (g->cb_pause) g->cb_pause();
    /* flb_input_collector_pause(ctx->coll_fd, ctx->proxy->instance) */
    struct inst *target = in;
    if (opt.emulate_pause_bug && g->proxy->instance) target = g->proxy->instance;
    set_collecting(target, 0);
}

static void run_resume(struct inst *in)
{
    struct gen *g = in->gen;
    in->resumes++;
    if (g->cb_resume) g->cb_resume();
    struct inst *target = in;
    if (opt.emulate_pause_bug && g->proxy->instance) target = g->proxy->instance;
    set_collecting(target, 1);
}

static void run_exit(struct inst *in, int hot)
{
    struct gen *g = in->gen;
    if (g->cb_pre_exit) g->cb_pre_exit(hot);
    if (g->plugin->cb_exit) g->plugin->cb_exit();
    in->exited = 1;
}

static void *inst_thread(void *arg)
{
    struct inst *in = arg;
    struct gen *g = in->gen;
    char tname[160];

    snprintf(tname, sizeof(tname), "flb-in-%s-w0", in->name);
    tname[15] = '\0'; /* Linux limit: 15 chars + NUL */
    pthread_setname_np(pthread_self(), tname);
    in->tid = gettid_();

    /* proxy_go_input_init(): runs inside the instance thread */
    g->proxy->instance = in;
    g->plugin->api = g->api;
    g->plugin->i_ins = in;
    g->plugin->context = in->ctx;
    int ret = g->plugin->cb_init(g->plugin);
    in->ctx->coll_fd = 0; /* collector id of the 1 s timer */

    pthread_mutex_lock(&g_init_mu);
    in->init_ret = ret;
    in->init_status = ret > 0 ? 1 : -1;
    pthread_cond_broadcast(&g_init_cv);
    pthread_mutex_unlock(&g_init_mu);
    if (ret <= 0) return NULL;

    /* wait for the collectors start signal (or an exit) */
    int started = 0;
    double t0 = 0, next_fire = 0;
    int extra_ok = 0; /* set right after a normal (non-extra) callback */
    for (;;) {
        int cmd = 0, carg = 0, fire = 0, is_extra = 0;
        pthread_mutex_lock(&in->mu);
        for (;;) {
            double now = mono_now();
            int timer_due = started && in->collecting && now >= next_fire;
            /* Fluent Bit: a timer expiry that happened while a callback was running is in the
             * same event batch and runs once more before queued pause/exit messages. */
            if (timer_due && extra_ok) {
                fire = 1;
                is_extra = 1;
                break;
            }
            if (in->cmd_len > 0) {
                cmd = in->cmdq[in->cmd_head];
                carg = in->cmd_arg[in->cmd_head];
                in->cmd_head = (in->cmd_head + 1) % CMDQ_CAP;
                in->cmd_len--;
                break;
            }
            if (timer_due) {
                fire = 1;
                break;
            }
            if (started && in->collecting) {
                struct timespec dl;
                abs_deadline(&dl, next_fire);
                pthread_cond_timedwait(&in->cv, &in->mu, &dl);
            }
            else {
                pthread_cond_wait(&in->cv, &in->mu);
            }
        }
        pthread_mutex_unlock(&in->mu);
        extra_ok = 0;

        if (fire) {
            /* timerfd semantics: expirations are coalesced, the phase is kept */
            double now = mono_now();
            double k = floor_((now - t0) / opt.interval_s);
            double consumed = t0 + k * opt.interval_s;
            do_collect(in);
            next_fire = consumed + opt.interval_s;
            /* at most one "same batch" extra callback after a normal one */
            extra_ok = !is_extra;
            continue;
        }
        switch (cmd) {
        case CMD_START:
            started = 1;
            if (g->cb_pre_run) g->cb_pre_run(opt.hot_reload ? 1 : 0);
            t0 = mono_now();
            next_fire = t0 + opt.interval_s;
            set_collecting(in, 1);
            break;
        case CMD_PAUSE:
            run_pause(in);
            break;
        case CMD_RESUME: {
            run_resume(in);
            /* the timer is recreated */
            pthread_mutex_lock(&in->mu);
            t0 = mono_now();
            next_fire = t0 + opt.interval_s;
            pthread_mutex_unlock(&in->mu);
            break;
        }
        case CMD_EXIT:
            run_exit(in, carg);
            return NULL;
        default:
            break;
        }
    }
}

/* ------------------------------------------------------------------ */
/* generations (one dlopen + register + instances; hot reload = new gen) */
/* ------------------------------------------------------------------ */

static void *sym(void *dso, const char *name)
{
    dlerror();
    void *s = dlsym(dso, name);
    if (dlerror() != NULL) return NULL;
    return s;
}

static struct gen *gen_load(int id)
{
    struct gen *g = xcalloc(1, sizeof(*g));
    g->id = id;
    g->dso = dlopen(opt.so_path, RTLD_LAZY);
    if (!g->dso) {
        hlog(FLB_LOG_ERROR, "[proxy] error opening plugin %s: '%s'", opt.so_path, dlerror());
        free(g);
        return NULL;
    }
    g->api = xcalloc(1, sizeof(*g->api));
    g->api->output_get_property = api_output_get_property;
    g->api->input_get_property = api_input_get_property;
    g->api->output_get_cmt_instance = api_output_get_cmt_instance;
    g->api->input_get_cmt_instance = api_input_get_cmt_instance;
    g->api->log_print = api_log_print;
    g->api->input_log_check = api_input_log_check;
    g->api->output_log_check = api_output_log_check;
    g->api->custom_get_property = api_custom_get_property;
    g->api->custom_log_check = api_custom_log_check;

    g->def = xcalloc(1, sizeof(*g->def));
    g->def->type = 0; /* flb_plugin_load() passes type 0 */
    g->proxy = xcalloc(1, sizeof(*g->proxy));
    g->proxy->def = g->def;
    g->proxy->api = g->api;
    g->proxy->dso_handler = g->dso;

    g->cb_pre_register = (int (*)(int))sym(g->dso, "FLBPluginPreRegister");
    g->cb_register = (int (*)(struct flb_plugin_proxy_def *))sym(g->dso, "FLBPluginRegister");
    g->cb_unregister = (void (*)(struct flb_plugin_proxy_def *))sym(g->dso, "FLBPluginUnregister");
    g->cb_pre_run = (int (*)(int))sym(g->dso, "FLBPluginInputPreRun");
    g->cb_pause = (void (*)(void))sym(g->dso, "FLBPluginInputPause");
    g->cb_resume = (void (*)(void))sym(g->dso, "FLBPluginInputResume");
    g->cb_pre_exit = (void (*)(int))sym(g->dso, "FLBPluginInputPreExit");
    return g;
}

static void gen_free(struct gen *g)
{
    if (!g) return;
    if (g->plugin) {
        free(g->plugin->name);
        free(g->plugin);
    }
    free(g->def);
    free(g->proxy);
    free(g->api);
    free(g->insts);
    if (g->dso) dlclose(g->dso);
    free(g);
}

/* flb_plugin_proxy_register() + proxy_go_input_register(). Returns 0 ok, -1 fail. */
static int gen_register(struct gen *g, int hot_reloading)
{
    if (g->cb_pre_register) {
        int r = g->cb_pre_register(hot_reloading);
        if (r == -1) {
            hlog(FLB_LOG_ERROR, "FLBPluginPreRegister(%d) returned -1: registration aborted", hot_reloading);
            return -1;
        }
    }
    if (!g->cb_register) {
        hlog(FLB_LOG_ERROR, "[proxy] %s does not export FLBPluginRegister", opt.so_path);
        return -1;
    }
    if (g->cb_register(g->def) == -1) {
        hlog(FLB_LOG_ERROR, "FLBPluginRegister returned -1");
        return -1;
    }
    if (g->def->proxy != FLB_PROXY_GOLANG || g->def->type != FLB_PROXY_INPUT_PLUGIN) {
        hlog(FLB_LOG_ERROR, "FLBPluginRegister filled def with proxy=%d type=%d; need proxy=%d (Go) and "
                            "type=%d (input)",
             g->def->proxy, g->def->type, FLB_PROXY_GOLANG, FLB_PROXY_INPUT_PLUGIN);
        return -1;
    }
    if (!g->def->name) {
        hlog(FLB_LOG_ERROR, "FLBPluginRegister did not set def->name");
        return -1;
    }
    if (g->def->config_map) {
        hlog(FLB_LOG_WARN, "def->config_map is set: Fluent Bit v5.1.1 would validate properties "
                           "against it; the harness does not");
    }
    struct flbgo_input_plugin *pl = xcalloc(1, sizeof(*pl));
    pl->cb_init = (int (*)(struct flbgo_input_plugin *))sym(g->dso, "FLBPluginInit");
    if (!pl->cb_init) {
        hlog(FLB_LOG_ERROR, "[go proxy]: could not load FLBPluginInit symbol");
        free(pl);
        return -1;
    }
    pl->cb_collect = (int (*)(void **, size_t *))sym(g->dso, "FLBPluginInputCallback");
    pl->cb_collect_ctx = (int (*)(void *, void **, size_t *))sym(g->dso, "FLBPluginInputCallbackCtx");
    pl->cb_cleanup = (int (*)(void *))sym(g->dso, "FLBPluginInputCleanupCallback");
    pl->cb_cleanup_ctx = (int (*)(void *, void *))sym(g->dso, "FLBPluginInputCleanupCallbackCtx");
    pl->cb_exit = (int (*)(void))sym(g->dso, "FLBPluginExit");
    pl->name = xstrdup(g->def->name);
    pl->api = g->api;
    if (opt.ctx_legacy) {
        /* emulate Fluent Bit < v4.1.0: the *Ctx symbols are not looked up */
        pl->cb_collect_ctx = NULL;
        pl->cb_cleanup_ctx = NULL;
    }
    g->plugin = pl;
    g->proxy->data = pl;
    g->use_ctx_collect = pl->cb_collect_ctx != NULL;
    g->use_ctx_cleanup = pl->cb_cleanup_ctx != NULL;
    if (!pl->cb_collect && !pl->cb_collect_ctx) {
        hlog(FLB_LOG_ERROR, "plugin exports neither FLBPluginInputCallback nor FLBPluginInputCallbackCtx "
                            "(Fluent Bit would call a NULL pointer)");
        return -1;
    }
    hlog(FLB_LOG_INFO, "registered Go input plugin '%s' (%s) from %s: collect=%s cleanup=%s%s",
         g->def->name, g->def->description ? g->def->description : "",
         opt.so_path, g->use_ctx_collect ? "FLBPluginInputCallbackCtx" : "FLBPluginInputCallback",
         g->use_ctx_cleanup ? "FLBPluginInputCleanupCallbackCtx"
                            : (pl->cb_cleanup ? "FLBPluginInputCleanupCallback" : "free()"),
         opt.ctx_legacy ? " (--ctx legacy)" : "");
    return 0;
}

static void gen_unregister(struct gen *g)
{
    if (g->cb_unregister) g->cb_unregister(g->def);
}

static void add_all(struct inst *in)
{
    if (g_nall == g_capall) {
        g_capall = g_capall ? g_capall * 2 : 8;
        g_all = realloc(g_all, g_capall * sizeof(*g_all));
        if (!g_all) abort();
    }
    g_all[g_nall++] = in;
}

/* create instance objects (properties applied) for this generation */
static int gen_create_instances(struct gen *g)
{
    g->ninsts = opt.ninputs;
    g->insts = xcalloc(g->ninsts, sizeof(*g->insts));
    for (size_t i = 0; i < opt.ninputs; i++) {
        struct inst_cfg *c = &opt.inputs[i];
        if (strcasecmp(c->name_arg, g->def->name) != 0) {
            hlog(FLB_LOG_ERROR, "[input] unknown input plugin '%s' (the .so registered '%s')",
                 c->name_arg, g->def->name);
            return -1;
        }
        struct inst *in = xcalloc(1, sizeof(*in));
        in->magic = INST_MAGIC;
        in->gen = g;
        in->gen_id = g->id;
        in->idx = (int)i;
        in->config_idx = (int)i;
        snprintf(in->name, sizeof(in->name), "%s.%d", g->def->name, (int)i);
        in->log_level = FLB_LOG_INFO;
        in->mem_buf_limit = opt.mem_buf_limit;
        pthread_mutex_init(&in->mu, NULL);
        pthread_cond_init(&in->cv, &g_cattr);
        in->ctx = xcalloc(1, sizeof(*in->ctx));
        in->ctx->proxy = g->proxy;
        g->insts[i] = in;
        add_all(in);
        for (size_t k = 0; k < c->nprops; k++) {
            if (inst_set_property(in, c->raw_keys[k], c->raw_vals[k]) != 0) {
                hlog(FLB_LOG_ERROR, "[input] %s: invalid value for property '%s': '%s'", in->name,
                     c->raw_keys[k], c->raw_vals[k]);
                return -2;
            }
        }
        if (c->tag_arg) {
            char *t = env_translate(c->tag_arg);
            if (t && t[0]) {
                free(in->tag);
                in->tag = t;
            }
            else free(t);
        }
        if (!in->tag) in->tag = xstrdup(in->name); /* default tag = instance name */
    }
    return 0;
}

/* init instances one after another; returns 0 ok, -1 if an Init failed */
static int gen_init_instances(struct gen *g)
{
    for (size_t i = 0; i < g->ninsts; i++) {
        struct inst *in = g->insts[i];
        if (pthread_create(&in->th, NULL, inst_thread, in) != 0) {
            hlog(FLB_LOG_ERROR, "pthread_create failed for %s", in->name);
            return -1;
        }
        in->th_started = 1;
        pthread_mutex_lock(&g_init_mu);
        while (in->init_status == 0) pthread_cond_wait(&g_init_cv, &g_init_mu);
        pthread_mutex_unlock(&g_init_mu);
        if (in->init_status < 0) {
            pthread_join(in->th, NULL);
            in->th_started = 0;
            hlog(FLB_LOG_ERROR, "[go proxy]: plugin '%s' failed to initialize (FLBPluginInit returned %d)",
                 g->def->name, in->init_ret);
            hlog(FLB_LOG_ERROR, "failed initialize input %s", in->name);
            hlog(FLB_LOG_ERROR, "[engine] input initialization failed");
            return -1;
        }
        hlog(FLB_LOG_INFO, "[input:%s:%s] initialized (tag=%s, thread tid=%d)", g->def->name, in->name,
             in->tag, (int)in->tid);
    }
    return 0;
}

static void gen_start_collectors(struct gen *g)
{
    for (size_t i = 0; i < g->ninsts; i++)
        if (g->insts[i]) send_cmd(g->insts[i], CMD_START, 0);
}

/* flb_input_pause_all(): skips instances already paused by mem_buf_limit */
static void gen_pause_all(struct gen *g)
{
    for (size_t i = 0; i < g->ninsts; i++) {
        struct inst *in = g->insts[i];
        if (!in || !in->th_started) continue;
        pthread_mutex_lock(&in->mu);
        int skip = in->mem_paused;
        pthread_mutex_unlock(&in->mu);
        if (!skip) send_cmd(in, CMD_PAUSE, 0);
    }
}

static void gen_resume_all(struct gen *g)
{
    for (size_t i = 0; i < g->ninsts; i++) {
        if (g->insts[i] && g->insts[i]->th_started) send_cmd(g->insts[i], CMD_RESUME, 0);
    }
}

/* flb_input_exit_all(): reverse config order, EXIT message then pthread_join each */
static void gen_exit_all(struct gen *g, int hot)
{
    for (size_t i = g->ninsts; i-- > 0;) {
        struct inst *in = g->insts[i];
        if (!in || !in->th_started) continue;
        send_cmd(in, CMD_EXIT, hot);
        pthread_join(in->th, NULL);
        in->th_started = 0;
    }
}

static void sleep_s(double s)
{
    if (s <= 0) return;
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* ------------------------------------------------------------------ */
/* signals                                                              */
/* ------------------------------------------------------------------ */

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char c = (unsigned char)sig;
    if (g_sigpipe[1] >= 0) {
        ssize_t r = write(g_sigpipe[1], &c, 1);
        (void)r;
    }
    errno = saved;
}

static void install_signals(void)
{
    if (pipe(g_sigpipe) != 0) {
        perror("pipe");
        exit(2);
    }
    for (int i = 0; i < 2; i++) {
        int fl = fcntl(g_sigpipe[i], F_GETFL);
        fcntl(g_sigpipe[i], F_SETFL, fl | O_NONBLOCK);
        fcntl(g_sigpipe[i], F_SETFD, FD_CLOEXEC);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* SA_ONSTACK is required when a Go runtime shares the process */
    sa.sa_flags = SA_RESTART | SA_ONSTACK;
    int sigs[] = {SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) sigaction(sigs[i], &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ------------------------------------------------------------------ */
/* CLI                                                                  */
/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: harness [options] PLUGIN.so --input NAME [key=value ...] [--tag TAG]\n"
            "                                   [--input NAME [key=value ...] [--tag TAG] ...]\n"
            "\n"
            "Loads a Fluent Bit Go input plugin like Fluent Bit v5.1.1 and drives it through its C ABI.\n"
            "Each --input section is one instance of the same .so (own thread, own properties).\n"
            "Property values support ${ENV} and ${ENV:-default}; 'tag', 'log_level', 'mem_buf_limit'\n"
            "and the other core keys are consumed (invisible to FLBPluginConfigKey), like Fluent Bit.\n"
            "\n"
            "options:\n"
            "  --interval-ms N          collect interval (default 1000 = Fluent Bit's fixed 1 s)\n"
            "  --grace-s N              Fluent Bit 'grace' (default 5); harness waits min(grace,1s)\n"
            "  --out FILE               JSON lines output (default stdout)\n"
            "  --ctx auto|legacy        auto: use *Ctx symbols if exported (v4.1.0+, default);\n"
            "                           legacy: ignore them (emulates Fluent Bit < v4.1.0)\n"
            "  --exit-after-s N         start the normal shutdown after N seconds\n"
            "  --mem-buf-limit BYTES    emulate mem_buf_limit for every instance (K/M/G suffix,\n"
            "                           1000-based like Fluent Bit; per-instance mem_buf_limit=... wins)\n"
            "  --drain-bytes-per-s N    rate at which buffered bytes are 'flushed' (default 0 = never)\n"
            "  --hot-reload             enable hot reload: PreRun(1), SIGHUP triggers a reload\n"
            "  --hot-reload-after-s N   do one hot reload after N seconds (implies --hot-reload)\n"
            "  --emulate-pause-bug      reproduce Fluent Bit v5.1.1 bug: pause/resume stop/start the\n"
            "                           timer of the LAST initialised instance (ABI doc 6.1)\n"
            "  -h, --help               this help\n"
            "\n"
            "signals: SIGUSR1 pause all, SIGUSR2 resume all, SIGTERM/SIGINT shutdown, SIGHUP reload\n"
            "exit status: 0 ok; 1 malformed events / callback -1 / partial buffers seen; 2 usage or\n"
            "config error; 255 plugin registration or FLBPluginInit failure (like fluent-bit).\n"
            "Output line: {\"tag\":T,\"ts\":SEC.NSEC[,\"metadata\":{..}],\"record\":{..}}; bin values\n"
            "are {\"$bin\":base64}, ext values {\"$ext\":type,\"data\":base64}, EventTime ext values\n"
            "{\"$eventtime\":SEC.NSEC}.\n");
}

static double parse_num(const char *opt_name, const char *v)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    if (!v[0] || *end || errno || d < 0 || isnan(d)) {
        fprintf(stderr, "harness: invalid number for %s: '%s'\n", opt_name, v);
        exit(2);
    }
    return d;
}

static void parse_args(int argc, char **argv)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
#define NEEDV()                                                        \
    do {                                                               \
        if (i + 1 >= argc) {                                           \
            fprintf(stderr, "harness: %s needs a value\n", a);         \
            exit(2);                                                   \
        }                                                              \
    } while (0)
        if (!strcmp(a, "--interval-ms")) {
            NEEDV();
            opt.interval_s = parse_num(a, argv[++i]) / 1000.0;
            if (opt.interval_s < 0.001) {
                fprintf(stderr, "harness: --interval-ms must be >= 1\n");
                exit(2);
            }
        }
        else if (!strcmp(a, "--grace-s")) { NEEDV(); opt.grace_s = parse_num(a, argv[++i]); }
        else if (!strcmp(a, "--out")) { NEEDV(); opt.out_path = argv[++i]; }
        else if (!strcmp(a, "--ctx")) {
            NEEDV();
            const char *v = argv[++i];
            if (!strcmp(v, "auto")) opt.ctx_legacy = 0;
            else if (!strcmp(v, "legacy")) opt.ctx_legacy = 1;
            else {
                fprintf(stderr, "harness: --ctx must be auto or legacy\n");
                exit(2);
            }
        }
        else if (!strcmp(a, "--exit-after-s")) { NEEDV(); opt.exit_after_s = parse_num(a, argv[++i]); }
        else if (!strcmp(a, "--mem-buf-limit")) {
            NEEDV();
            opt.mem_buf_limit = size_to_bytes(argv[++i]);
            if (opt.mem_buf_limit < 0) {
                fprintf(stderr, "harness: invalid --mem-buf-limit '%s'\n", argv[i]);
                exit(2);
            }
        }
        else if (!strcmp(a, "--drain-bytes-per-s")) { NEEDV(); opt.drain_bps = parse_num(a, argv[++i]); }
        else if (!strcmp(a, "--hot-reload")) opt.hot_reload = 1;
        else if (!strcmp(a, "--hot-reload-after-s")) {
            NEEDV();
            opt.hot_reload_after_s = parse_num(a, argv[++i]);
            opt.hot_reload = 1;
        }
        else if (!strcmp(a, "--emulate-pause-bug")) opt.emulate_pause_bug = 1;
        else if (a[0] == '-') {
            fprintf(stderr, "harness: unknown option '%s'\n", a);
            usage(stderr);
            exit(2);
        }
        else break;
#undef NEEDV
    }
    if (i >= argc) {
        usage(stderr);
        exit(2);
    }
    opt.so_path = argv[i++];
    struct inst_cfg *cur = NULL;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--input") || !strcmp(a, "-i")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "harness: --input needs a plugin name\n");
                exit(2);
            }
            opt.inputs = realloc(opt.inputs, (opt.ninputs + 1) * sizeof(*opt.inputs));
            if (!opt.inputs) abort();
            cur = &opt.inputs[opt.ninputs++];
            memset(cur, 0, sizeof(*cur));
            cur->name_arg = argv[++i];
        }
        else if (!strcmp(a, "--tag") || !strcmp(a, "-t")) {
            if (!cur || i + 1 >= argc) {
                fprintf(stderr, "harness: --tag must follow --input NAME and needs a value\n");
                exit(2);
            }
            cur->tag_arg = argv[++i];
        }
        else {
            const char *p = a;
            if (!strcmp(a, "-p")) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "harness: -p needs key=value\n");
                    exit(2);
                }
                p = argv[++i];
            }
            const char *eq = strchr(p, '=');
            if (!cur || !eq || eq == p) {
                fprintf(stderr, "harness: expected key=value after --input NAME, got '%s'\n", p);
                exit(2);
            }
            cur->raw_keys = realloc(cur->raw_keys, (cur->nprops + 1) * sizeof(char *));
            cur->raw_vals = realloc(cur->raw_vals, (cur->nprops + 1) * sizeof(char *));
            if (!cur->raw_keys || !cur->raw_vals) abort();
            size_t kl = (size_t)(eq - p);
            char *k = xmalloc(kl + 1);
            memcpy(k, p, kl);
            k[kl] = '\0';
            cur->raw_keys[cur->nprops] = k;
            cur->raw_vals[cur->nprops] = xstrdup(eq + 1);
            cur->nprops++;
        }
    }
    if (opt.ninputs == 0) {
        fprintf(stderr, "harness: at least one --input NAME is required\n");
        exit(2);
    }
}

static void free_opts(void)
{
    for (size_t i = 0; i < opt.ninputs; i++) {
        for (size_t k = 0; k < opt.inputs[i].nprops; k++) {
            free(opt.inputs[i].raw_keys[k]);
            free(opt.inputs[i].raw_vals[k]);
        }
        free(opt.inputs[i].raw_keys);
        free(opt.inputs[i].raw_vals);
    }
    free(opt.inputs);
}

static void inst_free(struct inst *in)
{
    for (size_t i = 0; i < in->nprops; i++) {
        free(in->props[i].key);
        free(in->props[i].val);
    }
    free(in->props);
    free(in->tag);
    free(in->ctx);
    pthread_mutex_destroy(&in->mu);
    pthread_cond_destroy(&in->cv);
    in->magic = 0;
    free(in);
}

/* ------------------------------------------------------------------ */
/* main                                                                 */
/* ------------------------------------------------------------------ */

static void drain_tick(struct gen *g, double dt)
{
    if (!g) return;
    for (size_t i = 0; i < g->ninsts; i++) {
        struct inst *in = g->insts[i];
        if (!in || in->mem_buf_limit <= 0 || !in->th_started) continue;
        int do_resume = 0;
        pthread_mutex_lock(&in->mu);
        in->buffered -= opt.drain_bps * dt;
        if (in->buffered < 0) in->buffered = 0;
        if (in->mem_paused && in->buffered < (double)in->mem_buf_limit &&
            atomic_load(&g_ingestion_active)) {
            in->mem_paused = 0;
            do_resume = 1;
        }
        double now_buf = in->buffered;
        pthread_mutex_unlock(&in->mu);
        if (do_resume) {
            send_cmd(in, CMD_RESUME, 0);
            hlog(FLB_LOG_INFO, "[input] %s resume (mem buf overlimit - buf size %.0fB now below limit %" PRId64 "B)",
                 in->name, now_buf, in->mem_buf_limit);
        }
    }
}

static void fail_startup(struct gen *g, int code)
{
    /* instances that did initialise are shut down (PreExit/Exit on their threads), then
     * FLBPluginUnregister, then exit like fluent-bit does after a failed start */
    if (g) {
        if (g->plugin) {
            gen_exit_all(g, 0);
            gen_unregister(g);
        }
        gen_free(g);
    }
    for (size_t i = 0; i < g_nall; i++) inst_free(g_all[i]);
    free(g_all);
    free_opts();
    if (g_out && g_out != stdout) fclose(g_out);
    exit(code);
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    pthread_condattr_init(&g_cattr);
    pthread_condattr_setclock(&g_cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&g_init_cv, NULL);

    if (opt.out_path) {
        g_out = fopen(opt.out_path, "w");
        if (!g_out) {
            fprintf(stderr, "harness: cannot open --out %s: %s\n", opt.out_path, strerror(errno));
            return 2;
        }
    }
    else g_out = stdout;

    install_signals();
    atomic_store(&g_ingestion_active, 1);

    int gen_id = 0;
    struct gen *g = gen_load(gen_id);
    if (!g) fail_startup(NULL, 255);
    if (gen_register(g, 0) != 0) fail_startup(g, 255);
    int cr = gen_create_instances(g);
    if (cr == -2) fail_startup(g, 2);
    if (cr != 0) fail_startup(g, 255);
    if (gen_init_instances(g) != 0) fail_startup(g, 255);
    gen_start_collectors(g);

    double t_start = mono_now();
    double last_tick = t_start;
    int hot_reload_done = 0;
    int shutdown_sig = 0;

    while (!shutdown_sig) {
        struct pollfd pfd = {.fd = g_sigpipe[0], .events = POLLIN};
        int pr = poll(&pfd, 1, 100);
        int want_reload = 0;
        if (pr > 0 && (pfd.revents & POLLIN)) {
            unsigned char sigs[64];
            ssize_t n;
            while ((n = read(g_sigpipe[0], sigs, sizeof(sigs))) > 0) {
                for (ssize_t k = 0; k < n; k++) {
                    int s = sigs[k];
                    if (s == SIGTERM || s == SIGINT) {
                        shutdown_sig = s;
                    }
                    else if (s == SIGUSR1) {
                        hlog(FLB_LOG_INFO, "SIGUSR1: pausing all instances");
                        gen_pause_all(g);
                    }
                    else if (s == SIGUSR2) {
                        hlog(FLB_LOG_INFO, "SIGUSR2: resuming all instances");
                        gen_resume_all(g);
                    }
                    else if (s == SIGHUP) {
                        if (opt.hot_reload) want_reload = 1;
                        else hlog(FLB_LOG_WARN, "SIGHUP ignored (hot reload not enabled; use --hot-reload)");
                    }
                }
            }
        }
        double now = mono_now();
        drain_tick(g, now - last_tick);
        last_tick = now;
        if (shutdown_sig) break;
        if (opt.exit_after_s >= 0 && now - t_start >= opt.exit_after_s) {
            hlog(FLB_LOG_INFO, "--exit-after-s %.3g reached (mono_ms=%.0f)", opt.exit_after_s, now * 1000.0);
            shutdown_sig = SIGTERM;
            break;
        }
        if (!hot_reload_done && opt.hot_reload_after_s >= 0 && now - t_start >= opt.hot_reload_after_s) {
            want_reload = 1;
            hot_reload_done = 1;
        }
        if (want_reload) {
            /* Fluent Bit hot reload: new context registers first, then the old one stops */
            hlog(FLB_LOG_INFO, "[reload] hot reload started");
            struct gen *ng = gen_load(++gen_id);
            if (!ng || gen_register(ng, 1) != 0) {
                hlog(FLB_LOG_ERROR, "[reload] new context failed to register; keeping the old one");
                if (ng) gen_free(ng);
                continue;
            }
            gen_pause_all(g);
            sleep_s(opt.grace_s < 1.0 ? opt.grace_s : 1.0);
            gen_pause_all(g);
            gen_exit_all(g, 1);
            gen_unregister(g);
            gen_free(g);
            g = ng;
            int r = gen_create_instances(g);
            if (r != 0 || gen_init_instances(g) != 0) {
                hlog(FLB_LOG_ERROR, "[reload] new context failed to start");
                fail_startup(g, r == -2 ? 2 : 255);
            }
            gen_start_collectors(g);
            hlog(FLB_LOG_INFO, "[reload] hot reload finished");
        }
    }

    /* ---- shutdown, Fluent Bit v5.1.1 order ---- */
    double t_sd = mono_now();
    hlog(FLB_LOG_INFO, "[engine] caught signal (%s)", shutdown_sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&g_ingestion_active, 0);
    /* (1) flb_engine_stop_ingestion -> flb_input_pause_all */
    gen_pause_all(g);
    /* (2) grace loop (nothing is pending in the harness: one tick) */
    sleep_s(opt.grace_s < 1.0 ? opt.grace_s : 1.0);
    hlog(FLB_LOG_INFO, "[engine] service has stopped (0 pending tasks)");
    /* (3) flb_engine_shutdown: pause all again, then outputs exit */
    gen_pause_all(g);
    atomic_store(&g_outputs_stopped, 1);
    /* (4) flb_input_exit_all: reverse order, PreExit(0) + Exit on each thread, join */
    gen_exit_all(g, 0);
    /* (5) FLBPluginUnregister on the main thread */
    gen_unregister(g);
    double t_end = mono_now();

    /* ---- summary ---- */
    int rc = 0;
    uint64_t tot_records = 0;
    for (size_t i = 0; i < g_nall; i++) {
        struct inst *in = g_all[i];
        tot_records += in->records;
        fprintf(stderr,
                "[harness] summary instance=%s gen=%d tag=%s records=%" PRIu64 " callbacks=%" PRIu64
                " empty=%" PRIu64 " bytes=%" PRIu64 " cb_errors=%" PRIu64 " malformed=%" PRIu64
                " dropped=%" PRIu64 " skipped=%" PRIu64 " lost=%" PRIu64 " pauses=%" PRIu64
                " resumes=%" PRIu64 "\n",
                in->name, in->gen_id, in->tag, in->records, in->callbacks, in->empty, in->bytes,
                in->cb_errors, in->malformed, in->dropped, in->skipped, in->lost, in->pauses, in->resumes);
    }
    unsigned long mal = atomic_load(&g_total_malformed), cbe = atomic_load(&g_total_cb_errors),
                  part = atomic_load(&g_total_partial);
    if (mal || cbe || part) rc = 1;
    fprintf(stderr,
            "[harness] total records=%" PRIu64 " malformed=%lu callback_errors=%lu partial_buffers=%lu "
            "shutdown_ms=%.0f exit=%d\n",
            tot_records, mal, cbe, part, (t_end - t_sd) * 1000.0, rc);

    gen_free(g);
    for (size_t i = 0; i < g_nall; i++) inst_free(g_all[i]);
    free(g_all);
    free_opts();
    if (g_out != stdout) fclose(g_out);
    else fflush(stdout);
    close(g_sigpipe[0]);
    close(g_sigpipe[1]);
    pthread_cond_destroy(&g_init_cv);
    pthread_condattr_destroy(&g_cattr);
    return rc;
}
