#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <string.h>
#include <stddef.h>
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

int ct_set_context(void *plugin, uintptr_t h)
{
    struct ct_go_input_plugin *p = plugin;
    if (p == NULL || p->context == NULL || p->context->proxy == NULL ||
        p->context->remote_context != NULL) {
        return -1;
    }
    p->context->remote_context = (void *) h;
    return 0;
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

struct ct_counters {
    void *cmt;
    ct_prom_create_fn create;
    ct_prom_destroy_fn destroy;
};

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
    if (cmt == NULL || n == NULL) {
        free(c);
        return NULL;
    }
    c->cmt = cmt;
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
