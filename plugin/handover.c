/*
 * The handover slot (flb.h): records reach Fluent Bit on the instance's own
 * thread, appended from an event collector, without a call into Go.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "flb.h"

typedef int (*ct_collect_fn)(void *ins, void *config, void *context);
typedef int (*ct_set_collector_event_fn)(void *ins, ct_collect_fn cb, int fd,
                                         void *config);
typedef int (*ct_append_records_fn)(void *ins, size_t records,
                                    const char *tag, size_t tag_len,
                                    const void *buf, size_t size);

static ct_append_records_fn ct_append_records;

/* Every slot, live or retired, so that the collector callback, which gets
 * only the instance, finds its own. */
static pthread_mutex_t ct_slots_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ct_slot *ct_slots;

void ct_slot_wake(int fd)
{
    uint64_t one = 1;
    ssize_t n;

    /* An eventfd adds up; it cannot be full at these rates. */
    n = write(fd, &one, sizeof one);
    (void) n;
}

static void ct_slot_drain(int fd)
{
    uint64_t n;
    ssize_t r;

    r = read(fd, &n, sizeof n);
    (void) r;
}

static struct ct_slot *ct_slot_find(void *ins)
{
    struct ct_slot *s;

    pthread_mutex_lock(&ct_slots_mu);
    for (s = ct_slots; s != NULL && s->ins != ins; s = s->next) {
    }
    pthread_mutex_unlock(&ct_slots_mu);
    return s;
}

/* ct_slot_event runs on the instance's thread whenever wake_ins is readable:
 * it appends a READY handover the way the proxy's own callback does (the
 * instance's tag; the record count is passed, so Fluent Bit does not count
 * the buffer again) and tells the goroutine. */
static int ct_slot_event(void *ins, void *config, void *context)
{
    struct ct_slot *s;
    int ready = CT_SLOT_READY;

    (void) config;
    (void) context;
    s = ct_slot_find(ins);
    if (s == NULL) {
        return 0;
    }
    ct_slot_drain(s->wake_ins);
    if (__atomic_load_n(&s->retired, __ATOMIC_ACQUIRE) ||
        __atomic_load_n(&s->paused, __ATOMIC_ACQUIRE)) {
        return 0;
    }
    if (!__atomic_compare_exchange_n(&s->state, &ready, CT_SLOT_APPENDING, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        return 0;
    }
    ct_append_records(ins, s->records, NULL, 0, s->data, s->size);
    __atomic_store_n(&s->state, CT_SLOT_DONE, __ATOMIC_RELEASE);
    ct_slot_wake(s->wake_go);
    return 0;
}

static void ct_slot_free(struct ct_slot *s)
{
    if (s->wake_ins >= 0) {
        close(s->wake_ins);
    }
    if (s->wake_go >= 0) {
        close(s->wake_go);
    }
    free(s);
}

struct ct_slot *ct_slot_open(void *plugin)
{
    ct_set_collector_event_fn set;
    struct ct_slot *s, **pp, *gone = NULL;
    void *ins = ct_instance(plugin);

    set = (ct_set_collector_event_fn) dlsym(RTLD_DEFAULT, "flb_input_set_collector_event");
    ct_append_records = (ct_append_records_fn) dlsym(RTLD_DEFAULT, "flb_input_log_append_records");
    if (ins == NULL || set == NULL || ct_append_records == NULL) {
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    s->ins = ins;
    s->wake_ins = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->wake_go = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->wake_ins < 0 || s->wake_go < 0) {
        ct_slot_free(s);
        return NULL;
    }

    /* A new instance comes after Fluent Bit destroyed the instances of a
     * previous run (a hot reload stops and destroys the old context before
     * it starts the new one): their slots go now. */
    pthread_mutex_lock(&ct_slots_mu);
    for (pp = &ct_slots; *pp != NULL;) {
        if ((*pp)->retired) {
            struct ct_slot *r = *pp;
            *pp = r->next;
            r->next = gone;
            gone = r;
            continue;
        }
        pp = &(*pp)->next;
    }
    s->next = ct_slots;
    ct_slots = s;
    pthread_mutex_unlock(&ct_slots_mu);
    while (gone != NULL) {
        struct ct_slot *r = gone;
        gone = r->next;
        ct_slot_free(r);
    }

    /* A threaded instance's collector lives in the instance's own event
     * loop (collector_create reads ins->thi); the config pointer is only
     * read for instances without a thread, which newInstance refuses. */
    if (set(ins, ct_slot_event, s->wake_ins, NULL) < 0) {
        ct_slot_retire(s);
        return NULL;
    }
    return s;
}

void ct_slot_retire(struct ct_slot *s)
{
    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&ct_slots_mu);
    __atomic_store_n(&s->retired, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&ct_slots_mu);
}
