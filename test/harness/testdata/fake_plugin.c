/*
 * fake_plugin.c - a Fluent Bit "Go" input plugin written in C, used to test
 * the harness without Go. It exports the same symbols a fluent-bit-go input
 * plugin exports and mirrors the structs the way a Go plugin's cgo preamble does.
 *
 * Build: cc -std=c11 -O2 -Wall -Wextra -fPIC -shared -pthread -o fake.so fake_plugin.c
 *   -DNO_CTX      do not export FLBPluginInputCallbackCtx / FLBPluginInputCleanupCallbackCtx
 *   -DNO_CLEANUP  export no cleanup symbol at all (the host must free() the buffer)
 *
 * Call log: if $FAKE_LOG is set, every exported call appends one line
 *   "<EVENT> inst=<id> tid=<tid> arg=<n> ..."   (one write(2), O_APPEND)
 *
 * Properties (read in FLBPluginInit through api->input_get_property):
 *   records=N      events per callback (default 3)
 *   param=S        echoed in every record
 *   bad=1          every callback emits: valid, MALFORMED (bare map), valid
 *   ret=N          return code of the collect callback (default 1 = FLB_OK)
 *   init_ret=N     return code of FLBPluginInit (default 1)
 *   ts=eventtime|int|float|v2   timestamp encoding (default eventtime)
 *   sleep_ms=N     sleep inside every collect callback
 *   empty=1        always return size 0
 *   payload_file=P emit the file's raw bytes on the first callback, then nothing
 *   pad=N          add a string field of N bytes to every record
 *   max_callbacks=N  after N non-empty callbacks return nothing
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* --- ABI mirrors (what a Go plugin's cgo preamble would declare) --- */
struct flb_plugin_proxy_def {
    int type;
    int proxy;
    int flags;
    char *name;
    char *description;
    int event_type;
    void *config_map;
};
struct flb_api {
    const char *(*output_get_property)(const char *, void *);
    const char *(*input_get_property)(const char *, void *);
    void *(*output_get_cmt_instance)(void *);
    void *(*input_get_cmt_instance)(void *);
    void (*log_print)(int, const char *, int, const char *, ...);
    int (*input_log_check)(void *, int);
    int (*output_log_check)(void *, int);
};
struct in_ctx {
    int coll_fd;
    void *remote_context;
    void *proxy;
};
struct go_in {
    char *name;
    struct flb_api *api;
    void *i_ins;
    struct in_ctx *context;
};

#ifndef PLUGIN_NAME
#define PLUGIN_NAME "fake"
#endif

struct fctx {
    int id;
    pid_t tid;
    char param[256];
    int records, bad, ret, ts_mode, sleep_ms, empty, pad, max_cb;
    char payload_file[1024];
    int payload_done;
    int debug;
    int missing_is_null, tag_visible;
    char case_param[256];
    uint64_t seq, nonempty;
    void *i_ins;
};

static struct go_in *g_plugin; /* the shared plugin struct (same pointer for all instances) */
static __thread struct fctx *tls;
static atomic_int g_next_id;
static atomic_long g_outstanding; /* buffers handed out and not yet cleaned up */

static pid_t tid_(void) { return (pid_t)syscall(SYS_gettid); }

static void flog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void flog(const char *fmt, ...)
{
    const char *path = getenv("FAKE_LOG");
    if (!path || !path[0]) return;
    char line[1100];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, 1000, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (n > 999) n = 999;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    n += snprintf(line + n, sizeof(line) - (size_t)n, " mono_ms=%lld",
                  (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
    if (n > (int)sizeof(line) - 2) n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    ssize_t w = write(fd, line, (size_t)n);
    (void)w;
    close(fd);
}

/* --- minimal msgpack writer --- */
struct buf {
    unsigned char *p;
    size_t len, cap;
};
static void put(struct buf *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        while (nc < b->len + n) nc *= 2;
        b->p = realloc(b->p, nc);
        if (!b->p) abort();
        b->cap = nc;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}
static void put8(struct buf *b, unsigned v) { unsigned char c = (unsigned char)v; put(b, &c, 1); }
static void putbe(struct buf *b, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) put8(b, (unsigned)((v >> (8 * i)) & 0xff));
}
static void mp_map(struct buf *b, unsigned n) { if (n < 16) put8(b, 0x80 | n); else { put8(b, 0xde); putbe(b, n, 2); } }
static void mp_arr(struct buf *b, unsigned n) { if (n < 16) put8(b, 0x90 | n); else { put8(b, 0xdc); putbe(b, n, 2); } }
static void mp_str(struct buf *b, const char *s, size_t n)
{
    if (n < 32) put8(b, 0xa0 | (unsigned)n);
    else if (n < 256) { put8(b, 0xd9); put8(b, (unsigned)n); }
    else if (n < 65536) { put8(b, 0xda); putbe(b, n, 2); }
    else { put8(b, 0xdb); putbe(b, n, 4); }
    put(b, s, n);
}
static void mp_cstr(struct buf *b, const char *s) { mp_str(b, s, strlen(s)); }
static void mp_uint(struct buf *b, uint64_t v) { put8(b, 0xcf); putbe(b, v, 8); }
static void mp_int(struct buf *b, int64_t v)
{
    if (v >= 0) mp_uint(b, (uint64_t)v);
    else { put8(b, 0xd3); putbe(b, (uint64_t)v, 8); }
}
static void mp_bool(struct buf *b, int v) { put8(b, v ? 0xc3 : 0xc2); }
static void mp_nil(struct buf *b) { put8(b, 0xc0); }
static void mp_f64(struct buf *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    put8(b, 0xcb);
    putbe(b, u, 8);
}
static void mp_eventtime(struct buf *b, uint32_t s, uint32_t ns)
{
    put8(b, 0xd7);
    put8(b, 0x00);
    putbe(b, s, 4);
    putbe(b, ns, 4);
}

static void emit_ts(struct buf *b, int mode)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    switch (mode) {
    case 1: mp_uint(b, (uint64_t)now.tv_sec); break;
    case 2: mp_f64(b, (double)now.tv_sec + (double)now.tv_nsec / 1e9); break;
    default: mp_eventtime(b, (uint32_t)now.tv_sec, (uint32_t)now.tv_nsec); break;
    }
}

static void emit_record(struct fctx *c, struct buf *b, int remote_ok, long ctx_id)
{
    mp_arr(b, 2);
    if (c->ts_mode == 3) { /* v2: [[ts, {meta}], {body}] */
        mp_arr(b, 2);
        emit_ts(b, 0);
        mp_map(b, 1);
        mp_cstr(b, "meta_k");
        mp_cstr(b, "meta_v");
    }
    else {
        emit_ts(b, c->ts_mode);
    }
    const char *late = NULL;
    if (g_plugin && g_plugin->api) late = g_plugin->api->input_get_property("param", g_plugin->i_ins);
    mp_map(b, c->pad > 0 ? 13 : 12);
    mp_cstr(b, "inst"); mp_int(b, c->id);
    mp_cstr(b, "param"); mp_cstr(b, c->param);
    mp_cstr(b, "seq"); mp_uint(b, c->seq++);
    mp_cstr(b, "ctx"); mp_int(b, ctx_id);
    mp_cstr(b, "ctx_ok"); mp_bool(b, remote_ok);
    mp_cstr(b, "tid"); mp_int(b, tid_());
    mp_cstr(b, "late_param"); if (late) mp_cstr(b, late); else mp_nil(b);
    mp_cstr(b, "debug"); mp_bool(b, c->debug);
    mp_cstr(b, "missing_is_null"); mp_bool(b, c->missing_is_null);
    mp_cstr(b, "tag_visible"); mp_bool(b, c->tag_visible);
    mp_cstr(b, "case_param"); mp_cstr(b, c->case_param);
    mp_cstr(b, "utf8"); mp_cstr(b, "h\xc3\xa9llo \"q\" \\ \x01 \xe2\x82\xac");
    if (c->pad > 0) {
        char *p = malloc((size_t)c->pad);
        if (!p) abort();
        memset(p, 'x', (size_t)c->pad);
        mp_cstr(b, "pad");
        mp_str(b, p, (size_t)c->pad);
        free(p);
    }
}

static int prop_int(void *ins, const char *k, int def)
{
    const char *v = g_plugin->api->input_get_property(k, ins);
    return (v && v[0]) ? atoi(v) : def;
}
static void prop_str(void *ins, const char *k, char *dst, size_t n)
{
    const char *v = g_plugin->api->input_get_property(k, ins);
    snprintf(dst, n, "%s", v ? v : "");
}

/* --- exported symbols --- */

int FLBPluginPreRegister(int hot_reloading)
{
    flog("PREREGISTER inst=-1 tid=%d arg=%d", tid_(), hot_reloading);
    return 0;
}

int FLBPluginRegister(struct flb_plugin_proxy_def *def)
{
    flog("REGISTER inst=-1 tid=%d def=%p", tid_(), (void *)def);
    def->type = 1;   /* FLB_PROXY_INPUT_PLUGIN */
    def->proxy = 11; /* FLB_PROXY_GOLANG */
    def->flags = 0;
    def->name = strdup(PLUGIN_NAME);
    def->description = strdup("fake C input plugin for the harness");
    return 0;
}

void FLBPluginUnregister(struct flb_plugin_proxy_def *def)
{
    flog("UNREGISTER inst=-1 tid=%d def=%p outstanding=%ld", tid_(), (void *)def, (long)atomic_load(&g_outstanding));
    free(def->name);
    free(def->description);
    def->name = def->description = NULL;
}

int FLBPluginInit(void *plugin)
{
    struct go_in *p = plugin;
    g_plugin = p;
    struct fctx *c = calloc(1, sizeof(*c));
    if (!c) return 0;
    c->id = atomic_fetch_add(&g_next_id, 1);
    c->tid = tid_();
    c->i_ins = p->i_ins;
    prop_str(p->i_ins, "param", c->param, sizeof(c->param));
    prop_str(p->i_ins, "PaRaM", c->case_param, sizeof(c->case_param));
    prop_str(p->i_ins, "payload_file", c->payload_file, sizeof(c->payload_file));
    c->records = prop_int(p->i_ins, "records", 3);
    c->bad = prop_int(p->i_ins, "bad", 0);
    c->ret = prop_int(p->i_ins, "ret", 1);
    c->sleep_ms = prop_int(p->i_ins, "sleep_ms", 0);
    c->empty = prop_int(p->i_ins, "empty", 0);
    c->pad = prop_int(p->i_ins, "pad", 0);
    c->max_cb = prop_int(p->i_ins, "max_callbacks", -1);
    c->missing_is_null = p->api->input_get_property("no_such_key", p->i_ins) == NULL;
    c->tag_visible = p->api->input_get_property("tag", p->i_ins) != NULL;
    char ts[32];
    prop_str(p->i_ins, "ts", ts, sizeof(ts));
    c->ts_mode = !strcmp(ts, "int") ? 1 : !strcmp(ts, "float") ? 2 : !strcmp(ts, "v2") ? 3 : 0;
    c->debug = p->api->input_log_check(p->i_ins, 4 /* FLB_LOG_DEBUG */);
    if (c->debug) p->api->log_print(4, NULL, 0, "[input:fake] instance %d: debug logging enabled", c->id);
    p->api->log_print(3, NULL, 0, "[input:fake] instance %d initialised param=%s", c->id, c->param);

    int init_ret = prop_int(p->i_ins, "init_ret", 1);
    flog("INIT inst=%d tid=%d plugin=%p ctxptr=%p param=%s ret=%d", c->id, c->tid, plugin,
         (void *)p->context, c->param, init_ret);
    if (init_ret <= 0) {
        free(c);
        return init_ret;
    }
    /* per-instance context: the workaround from the ABI doc, section 3 */
    p->context->remote_context = c;
    tls = c;
    return init_ret;
}

int FLBPluginInputPreRun(int enable_hot_reload)
{
    flog("PRERUN inst=%d tid=%d arg=%d", tls ? tls->id : -1, tid_(), enable_hot_reload);
    return 0;
}

static int collect(struct fctx *c, int via_ctx, void *remote, void **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    if (!c) {
        flog("COLLECT_NO_INSTANCE inst=-1 tid=%d", tid_());
        return 1;
    }
    flog("COLLECT_BEGIN inst=%d tid=%d", c->id, tid_());
    int remote_ok = !via_ctx || remote == (void *)c;
    long ctx_id = via_ctx ? (remote ? ((struct fctx *)remote)->id : -2) : -1;
    if (c->sleep_ms > 0) {
        struct timespec ts = {c->sleep_ms / 1000, (long)(c->sleep_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    struct buf b = {0};
    if (c->payload_file[0]) {
        if (!c->payload_done) {
            c->payload_done = 1;
            FILE *f = fopen(c->payload_file, "rb");
            if (f) {
                unsigned char tmp[4096];
                size_t n;
                while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) put(&b, tmp, n);
                fclose(f);
            }
        }
    }
    else if (!c->empty && (c->max_cb < 0 || (int)c->nonempty < c->max_cb)) {
        for (int i = 0; i < c->records; i++) {
            emit_record(c, &b, remote_ok, ctx_id);
            if (c->bad && i == 0) {
                /* malformed: a bare map instead of [ts, map] */
                mp_map(&b, 1);
                mp_cstr(&b, "bad");
                mp_bool(&b, 1);
            }
        }
    }
    flog("COLLECT inst=%d tid=%d via_ctx=%d ctx=%ld ctx_ok=%d bytes=%zu ret=%d", c->id, tid_(), via_ctx,
         ctx_id, remote_ok, b.len, c->ret);
    if (b.len > 0) {
        c->nonempty++;
        *data = b.p;
        *size = b.len;
        atomic_fetch_add(&g_outstanding, 1);
    }
    return c->ret;
}

int FLBPluginInputCallback(void **data, size_t *size) { return collect(tls, 0, NULL, data, size); }

#ifndef NO_CTX
int FLBPluginInputCallbackCtx(void *ctx, void **data, size_t *size) { return collect(tls, 1, ctx, data, size); }
#endif

#ifndef NO_CLEANUP
int FLBPluginInputCleanupCallback(void *data)
{
    flog("CLEANUP inst=%d tid=%d via_ctx=0", tls ? tls->id : -1, tid_());
    atomic_fetch_sub(&g_outstanding, 1);
    free(data);
    return 1;
}
#ifndef NO_CTX
int FLBPluginInputCleanupCallbackCtx(void *ctx, void *data)
{
    flog("CLEANUP inst=%d tid=%d via_ctx=1 ctx_ok=%d", tls ? tls->id : -1, tid_(), ctx == (void *)tls);
    atomic_fetch_sub(&g_outstanding, 1);
    free(data);
    return 1;
}
#endif
#endif

void FLBPluginInputPause(void) { flog("PAUSE inst=%d tid=%d", tls ? tls->id : -1, tid_()); }

void FLBPluginInputResume(void) { flog("RESUME inst=%d tid=%d", tls ? tls->id : -1, tid_()); }

void FLBPluginInputPreExit(int shutdown_by_hot_reloading)
{
    flog("PREEXIT inst=%d tid=%d arg=%d", tls ? tls->id : -1, tid_(), shutdown_by_hot_reloading);
}

int FLBPluginExit(void)
{
    flog("EXIT inst=%d tid=%d", tls ? tls->id : -1, tid_());
    free(tls);
    tls = NULL;
    return 1;
}
