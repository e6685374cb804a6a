/*
 * Mirrors of the parts of Fluent Bit's private structs that the plugin
 * needs, and small wrappers around Fluent Bit's C API. Layouts are those of
 * Fluent Bit v4.1.0 to v5.1.1 (src/proxy/go/go.h, flb_plugin_proxy.h,
 * flb_api.h); the end-to-end tests pin them against a real binary.
 */
#ifndef IN_CLOUDTRAIL_FLB_H
#define IN_CLOUDTRAIL_FLB_H

#include <stdint.h>
#include <stdlib.h>

/* Log levels of include/fluent-bit/flb_log.h. */
#define CT_LOG_ERROR 1
#define CT_LOG_WARN  2
#define CT_LOG_INFO  3
#define CT_LOG_DEBUG 4
#define CT_LOG_TRACE 5

/* ct_set_context stores h as the instance's remote_context, which Fluent Bit
 * passes to FLBPluginInputCallbackCtx and FLBPluginInputCleanupCallbackCtx.
 * It returns 0 on success and -1 when the struct does not look as expected
 * (then the plugin identifies instances by thread instead). */
int ct_set_context(void *plugin, uintptr_t h);

/* ct_instance returns plugin->i_ins, the instance being initialised. */
void *ct_instance(void *plugin);

/* ct_api returns plugin->api. */
void *ct_api(void *plugin);

/* ct_log_enabled reports whether the instance logs at level. */
int ct_log_enabled(void *api, void *ins, int level);

/* ct_log prints msg through Fluent Bit's logger. */
void ct_log(void *api, int level, const char *msg);

#endif

/* Fluent Bit's own per-instance counters (docs/acknowledgement.md).
 * ct_counters_open finds, with dlsym in the executable that loaded the
 * plugin, the cmetrics encoder and this instance's metrics context. It
 * returns NULL when any piece is missing (Fluent Bit built without metrics,
 * a host that does not export them): the plugin then acknowledges by delay. */
struct ct_counters;
struct ct_counters *ct_counters_open(void *ins, char *name, size_t name_len);

/* ct_counters_text encodes the instance's metrics as Prometheus text; the
 * caller frees it with ct_counters_text_free. NULL on failure. */
char *ct_counters_text(struct ct_counters *c, size_t *len);
void ct_counters_text_free(struct ct_counters *c, char *text);
void ct_counters_close(struct ct_counters *c);
