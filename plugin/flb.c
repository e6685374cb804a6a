#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <string.h>
#include <strings.h>
#include <stddef.h>
#include <time.h>
#include "flb.h"

struct ct_input_proxy_context {        /* flb_plugin_input_proxy_context */
    int coll_fd;
    void *remote_context;
    void *proxy;
};

struct ct_go_input_plugin {            /* flbgo_input_plugin (leading fields) */
    char *name;
    void *api;
    void *i_ins;
    struct ct_input_proxy_context *context;
};

typedef void (*ct_log_print_fn)(int, const char *, int, const char *, ...);
typedef int (*ct_log_check_fn)(void *, int);

struct ct_api {                        /* flb_api (leading fields) */
    void *output_get_property;
    void *input_get_property;
    void *output_get_cmt_instance;
    void *input_get_cmt_instance;
    ct_log_print_fn log_print;
    ct_log_check_fn input_log_check;
};

/* flb_plugin_proxy (leading fields, the same in 3.2 to 5.1): its data is the
 * flbgo_input_plugin, i.e. the plugin pointer itself, which is what tells
 * the two context layouts apart without guessing. */
struct ct_proxy {
    void *def;
    void *api;
    void *instance;
    void *dso_handler;
    void *data;
};

/* ct_is_proxy reports whether p is the flb_plugin_proxy of this plugin. */
static int ct_is_proxy(void *p, void *plugin, void *ins)
{
    struct ct_proxy *px = p;
    return px != NULL && px->data == plugin && px->instance == ins;
}

int ct_context_layout(void *plugin)
{
    struct ct_go_input_plugin *p = plugin;
    void **words;

    if (p == NULL || p->context == NULL) {
        return CT_CTX_UNKNOWN;
    }
    /* Before 4.1 the context of an instance being initialised is a
     * flb_plugin_proxy_context { remote_context; proxy } (16 bytes): the
     * proxy is its second word, and reading a third would run past it. */
    words = (void **) p->context;
    if (words[0] == NULL && ct_is_proxy(words[1], plugin, p->i_ins)) {
        return CT_CTX_NONE;
    }
    /* 4.1 and later: flb_plugin_input_proxy_context { coll_fd;
     * remote_context; proxy }. */
    if (p->context->remote_context == NULL && ct_is_proxy(p->context->proxy, plugin, p->i_ins)) {
        return CT_CTX_SET;
    }
    return CT_CTX_UNKNOWN;
}

int ct_set_context(void *plugin, uintptr_t h)
{
    int layout = ct_context_layout(plugin);

    if (layout == CT_CTX_SET) {
        ((struct ct_go_input_plugin *) plugin)->context->remote_context = (void *) h;
    }
    return layout;
}

void *ct_instance(void *plugin)
{
    return plugin ? ((struct ct_go_input_plugin *) plugin)->i_ins : NULL;
}

void *ct_api(void *plugin)
{
    return plugin ? ((struct ct_go_input_plugin *) plugin)->api : NULL;
}

int ct_log_enabled(void *api, void *ins, int level)
{
    struct ct_api *a = api;
    if (a == NULL || ins == NULL || a->input_log_check == NULL) {
        return level <= CT_LOG_INFO;
    }
    return a->input_log_check(ins, level);
}

void ct_log(void *api, int level, const char *msg)
{
    struct ct_api *a = api;
    if (a == NULL || a->log_print == NULL) {
        return;
    }
    a->log_print(level, "in_cloudtrail", 0, "%s", msg);
}

/* ------------------------------------------------------------------ */
/* Fluent Bit's per-instance counters, read through its cmetrics       */
/* encoder (the executable is linked with ENABLE_EXPORTS).             */
/* ------------------------------------------------------------------ */


typedef void *(*ct_get_cmt_fn)(void *ins);
typedef const char *(*ct_input_name_fn)(void *ins);
typedef char *(*ct_prom_create_fn)(void *cmt, int add_timestamp);
typedef void (*ct_prom_destroy_fn)(char *text);
typedef int (*ct_counter_get_fn)(void *counter, int labels_count, char **label_vals, double *out);
typedef char *(*ct_cmt_version_fn)(void);

/* The leading fields of cmetrics' struct cmt, struct cmt_opts and struct
 * cmt_counter (lib/cmetrics/include/cmetrics/), the same in cmetrics 0.9
 * (Fluent Bit 3.2), 1.0 (4.0) and 2.2 (5.1). They are used only where
 * cmt_version() says 1.x or 2.x, and only after the values they give have
 * matched the Prometheus text (counters.go). */
struct ct_list {
    struct ct_list *prev, *next;
};

struct ct_cmt {
    int log_level;
    void *log_cb;
    void *internal_metadata;
    void *external_metadata;
    void *static_labels;
    struct ct_list counters;
};

struct ct_cmt_counter {
    char *ns, *subsystem, *name, *description, *fqname; /* struct cmt_opts */
    int resource_index;
    void *map;
    struct ct_list _head;
    struct ct_cmt *cmt;
};

/* The series read directly, in the order of ct_counters_read's out. */
static const char *ct_series[CT_SERIES] = {
    "fluentbit_input_ring_buffer_writes_total",
    "fluentbit_input_ring_buffer_retry_failures_total",
    "fluentbit_input_records_total",
};

struct ct_counters {
    void *cmt;
    ct_prom_create_fn create;
    ct_prom_destroy_fn destroy;
    /* Direct reads: the counters of ct_series, NULL when not found. */
    ct_counter_get_fn get;
    struct ct_cmt_counter *series[CT_SERIES];
    char name[256];
};

/* ct_find_series looks the counters of ct_series up in the instance's
 * context; it leaves them NULL unless cmetrics is a version whose layout is
 * known and every one is found with its back pointer to the context. */
static void ct_find_series(struct ct_counters *c)
{
    ct_cmt_version_fn version;
    const char *v;
    struct ct_cmt *cmt = c->cmt;
    struct ct_list *p;
    struct ct_cmt_counter *ctr;
    int i;
    int found = 0;

    version = (ct_cmt_version_fn) dlsym(RTLD_DEFAULT, "cmt_version");
    c->get = (ct_counter_get_fn) dlsym(RTLD_DEFAULT, "cmt_counter_get_val");
    if (version == NULL || c->get == NULL) {
        return;
    }
    v = version();
    if (v == NULL || (strncmp(v, "1.", 2) != 0 && strncmp(v, "2.", 2) != 0)) {
        return;
    }
    for (p = cmt->counters.next; p != NULL && p != &cmt->counters; p = p->next) {
        ctr = (struct ct_cmt_counter *) ((char *) p - offsetof(struct ct_cmt_counter, _head));
        if (ctr->cmt != cmt || ctr->fqname == NULL) {
            break; /* not the layout assumed: read the text instead */
        }
        for (i = 0; i < CT_SERIES; i++) {
            if (c->series[i] == NULL && strcmp(ctr->fqname, ct_series[i]) == 0) {
                c->series[i] = ctr;
                found++;
            }
        }
    }
    if (found != CT_SERIES) {
        ct_counters_direct_off(c);
    }
}

void ct_counters_direct_off(struct ct_counters *c)
{
    int i;

    if (c == NULL) {
        return;
    }
    for (i = 0; i < CT_SERIES; i++) {
        c->series[i] = NULL;
    }
}

int ct_counters_direct(struct ct_counters *c)
{
    return c != NULL && c->series[0] != NULL;
}

int ct_counters_read(struct ct_counters *c, uint64_t *out)
{
    char *labels[1];
    double v;
    int i;

    if (!ct_counters_direct(c)) {
        return -1;
    }
    labels[0] = c->name;
    for (i = 0; i < CT_SERIES; i++) {
        if (c->get(c->series[i], 1, labels, &v) != 0 || v < 0) {
            return -1;
        }
        out[i] = (uint64_t) v;
    }
    return 0;
}

struct ct_counters *ct_counters_open(void *ins, char *name, size_t name_len)
{
    ct_get_cmt_fn get_cmt;
    ct_input_name_fn input_name;
    struct ct_counters *c;
    const char *n;
    void *cmt;

    if (ins == NULL) {
        return NULL;
    }
    /* flb_input_get_cmt_instance is what api->input_get_cmt_instance points
     * to; resolving it by name also proves the build has metrics (without
     * FLB_HAVE_METRICS the api slot is left unset, not NULL). */
    get_cmt = (ct_get_cmt_fn) dlsym(RTLD_DEFAULT, "flb_input_get_cmt_instance");
    input_name = (ct_input_name_fn) dlsym(RTLD_DEFAULT, "flb_input_name");
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->create = (ct_prom_create_fn) dlsym(RTLD_DEFAULT, "cmt_encode_prometheus_create");
    c->destroy = (ct_prom_destroy_fn) dlsym(RTLD_DEFAULT, "cmt_encode_prometheus_destroy");
    if (get_cmt == NULL || input_name == NULL || c->create == NULL || c->destroy == NULL) {
        free(c);
        return NULL;
    }
    cmt = get_cmt(ins);
    n = input_name(ins);
    if (cmt == NULL || n == NULL || strlen(n) >= sizeof(c->name)) {
        free(c);
        return NULL;
    }
    c->cmt = cmt;
    strcpy(c->name, n);
    ct_find_series(c);
    if (name != NULL && name_len > 0) {
        strncpy(name, n, name_len - 1);
        name[name_len - 1] = '\0';
    }
    return c;
}

char *ct_counters_text(struct ct_counters *c, size_t *len)
{
    char *t;

    *len = 0;
    if (c == NULL || c->cmt == NULL) {
        return NULL;
    }
    t = c->create(c->cmt, 0);
    if (t != NULL) {
        *len = strlen(t);
    }
    return t;
}

void ct_counters_text_free(struct ct_counters *c, char *text)
{
    if (c != NULL && text != NULL) {
        c->destroy(text);
    }
}

void ct_counters_close(struct ct_counters *c)
{
    free(c);
}

/* ------------------------------------------------------------------ */
/* The instance's property list, for refusing unknown keys.            */
/* ------------------------------------------------------------------ */

int ct_property_code(unsigned char *buf, size_t n, uintptr_t *fn, uintptr_t *target)
{
    void *f = dlsym(RTLD_DEFAULT, "flb_input_get_property");
    void *t = dlsym(RTLD_DEFAULT, "flb_config_prop_get");

    if (f == NULL || t == NULL) {
        return -1;
    }
    memcpy(buf, f, n);
    *fn = (uintptr_t) f;
    *target = (uintptr_t) t;
    return 0;
}

struct ct_mk_list {                    /* monkey's mk_list */
    struct ct_mk_list *prev;
    struct ct_mk_list *next;
};

struct ct_kv {                         /* flb_kv */
    char *key;
    char *val;
    struct ct_mk_list _head;
};

typedef const char *(*ct_get_property_fn)(const char *, void *);

/* ct_seen reports whether key is among the n NUL-ended keys in buf. */
static int ct_seen(const char *buf, int n, const char *key)
{
    int i;

    for (i = 0; i < n; i++) {
        if (strcasecmp(buf, key) == 0) {
            return 1;
        }
        buf += strlen(buf) + 1;
    }
    return 0;
}

int ct_property_keys(void *ins, size_t off, char *buf, size_t len)
{
    ct_get_property_fn get;
    struct ct_mk_list *head, *node;
    struct ct_kv *kv;
    size_t used = 0, klen;
    int n = 0;

    get = (ct_get_property_fn) dlsym(RTLD_DEFAULT, "flb_input_get_property");
    if (ins == NULL || get == NULL) {
        return -1;
    }
    head = (struct ct_mk_list *) ((char *) ins + off);
    for (node = head->next; node != head; node = node->next) {
        if (node == NULL || n >= CT_MAX_PROPERTIES) {
            return -1;
        }
        kv = (struct ct_kv *) ((char *) node - offsetof(struct ct_kv, _head));
        if (kv->key == NULL) {
            return -1;
        }
        klen = strnlen(kv->key, CT_MAX_KEY);
        if (klen == 0 || klen == CT_MAX_KEY || used + klen + 1 > len) {
            return -1;
        }
        /* Fluent Bit's own lookup of this key must answer with this very
         * value (or, for a repeated key, the first one's): only the
         * instance's property list does that. */
        if (get(kv->key, ins) != kv->val && !ct_seen(buf, n, kv->key)) {
            return -1;
        }
        memcpy(buf + used, kv->key, klen + 1);
        used += klen + 1;
        n++;
    }
    return n;
}
