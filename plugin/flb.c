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
