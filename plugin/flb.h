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

/* ct_context_layout tells which proxy context the instance being
 * initialised has, recognising it by its proxy pointer (whose data is the
 * plugin pointer and whose instance is i_ins): CT_CTX_SET for Fluent Bit 4.1
 * and later (a remote_context, passed to FLBPluginInputCallbackCtx and
 * FLBPluginInputCleanupCallbackCtx), CT_CTX_NONE for the layout before 4.1
 * (none: the plugin tells instances apart by thread), CT_CTX_UNKNOWN when
 * neither matches (a Fluent Bit whose ABI the plugin does not know).
 * ct_set_context stores h as the remote_context when there is one and
 * returns the layout. */
#define CT_CTX_SET      0
#define CT_CTX_NONE     1
#define CT_CTX_UNKNOWN -1
int ct_context_layout(void *plugin);
int ct_set_context(void *plugin, uintptr_t h);

/* ct_instance returns plugin->i_ins, the instance being initialised. */
void *ct_instance(void *plugin);

/* ct_api returns plugin->api. */
void *ct_api(void *plugin);

/* ct_log_enabled reports whether the instance logs at level. */
int ct_log_enabled(void *api, void *ins, int level);

/* ct_log prints msg through Fluent Bit's logger. */
void ct_log(void *api, int level, const char *msg);


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

/* Direct reads of the three series the plugin needs, without encoding the
 * whole context as text: ct_counters_direct reports whether open found
 * them; ct_counters_read fills out with ring buffer writes, ring buffer
 * retry failures and records (0, or -1 on failure); ct_counters_direct_off
 * goes back to the text for good. */
#define CT_SERIES 3
int ct_counters_direct(struct ct_counters *c);
int ct_counters_read(struct ct_counters *c, uint64_t *out);
void ct_counters_direct_off(struct ct_counters *c);

/* The instance's properties (package cloudtrail/flbabi). ct_property_code
 * copies the first n bytes of flb_input_get_property's machine code and
 * gives its address and flb_config_prop_get's, from which the offset of the
 * property list in struct flb_input_instance is read. It returns -1 when
 * either symbol is not exported. */
int ct_property_code(unsigned char *buf, size_t n, uintptr_t *fn, uintptr_t *target);

/* ct_property_keys writes the keys of the property list at ins+off into buf,
 * each ended by NUL, and returns how many; -1 when the list does not look
 * like the instance's property list (each key is looked up through
 * flb_input_get_property, which must find the same value), or it does not
 * fit. Fluent Bit keeps there the keys it does not read itself. */
#define CT_MAX_PROPERTIES 256
#define CT_MAX_KEY        256
int ct_property_keys(void *ins, size_t off, char *buf, size_t len);

/* The handover slot (handover.c): the plugin's goroutine publishes a
 * handover in the slot and wakes the instance's thread through wake_ins (an
 * eventfd that an event collector of the instance watches); that thread
 * appends it with flb_input_log_append_records and wakes the goroutine
 * through wake_go. Fluent Bit's thread never enters Go for it: a callback
 * into Go leaves the thread holding a Go P that sysmon must take back, and
 * each take sets sysmon polling every 20 us (docs/performance.md).
 *
 * state moves IDLE -> READY (the goroutine, data, size and records set)
 * -> APPENDING -> DONE (the instance's thread) -> IDLE (the goroutine), or
 * READY -> IDLE when the goroutine takes an unappended handover back.
 * paused is set by the pause callback, on the instance's thread: a READY
 * handover then waits for resume. Both are read and written atomically. */
#define CT_SLOT_IDLE      0
#define CT_SLOT_READY     1
#define CT_SLOT_APPENDING 2
#define CT_SLOT_DONE      3

struct ct_slot {
    int state;
    int paused;
    const void *data;          /* C memory (memory.go), never Go's */
    size_t size;
    size_t records;
    int wake_ins;
    int wake_go;
    void *ins;
    int retired;
    struct ct_slot *next;
};

/* ct_slot_open, from FLBPluginInit on the instance's thread (Fluent Bit
 * starts the collectors registered during init with the proxy's), adds the
 * slot's event collector to the instance. NULL when this Fluent Bit does not
 * export what it needs, or on failure. */
struct ct_slot *ct_slot_open(void *plugin);

/* ct_slot_wake wakes the other side through fd. */
void ct_slot_wake(int fd);

/* ct_slot_retire, once the goroutine has stopped, leaves the slot to be
 * freed by the next ct_slot_open: Fluent Bit removes the collector only when
 * it destroys the instance, after Exit, and its fd must stay open until
 * then. */
void ct_slot_retire(struct ct_slot *s);

#endif
