/* pyari.rtp._relay: RTP relay on arrival in a native thread (decision 0029).
 *
 * A Relay owns one thread that epolls the RTP sockets of relaying streams and, for
 * each datagram on the fast path (version 2, no CSRC/extension/padding, the expected
 * payload type), keeps the reception statistics, learns the remote (symmetric RTP),
 * rewrites the header to the target leg's SSRC, payload type and numbering and sends it
 * from the target's socket. Every other datagram is queued (bounded) for Python, which
 * is woken through an eventfd. Python owns the state: it pushes a direction's state
 * with add(), reads it with get(), changes it with set() and takes it back with
 * remove(); after remove() returns the thread never touches that descriptor again.
 *
 * The thread never takes the GIL. One recursive mutex guards the table and the queue;
 * Python may hold it across a read-modify-write with lock()/unlock().
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 2048
#define QUEUE_SIZE 256
#define MAX_EVENTS 64
#define READS_PER_EVENT 1 /* level-triggered: more is reported again (a second read would mostly be EAGAIN) */
#define STOP_KEY UINT64_MAX

typedef struct {
    int active;
    uint32_t gen;
    int fd;
    int target_fd;
    double offset; /* Python's media time = CLOCK_MONOTONIC + offset */
    /* reception (the source stream's session) */
    int pt;
    double rate;
    int symmetric;
    int have_src;
    uint32_t src_gen;
    uint32_t src_ssrc;
    uint32_t base_seq;
    uint32_t max_seq;
    uint64_t cycles;
    uint64_t received;
    int have_transit;
    double transit;
    double jitter;
    uint64_t rx_packets;
    uint64_t rx_octets;
    struct sockaddr_storage remote;
    socklen_t remote_len;
    /* sending (the target stream's session) */
    uint32_t out_ssrc;
    int out_pt;
    uint32_t out_seq;
    uint32_t out_ts;
    uint32_t samples;
    uint64_t tx_packets;
    uint64_t tx_octets;
    int next_marker;
    int64_t relay_ssrc; /* -1: none yet */
    uint32_t relay_seq;
    uint32_t relay_ts;
    int64_t relay_next; /* -1: none yet */
    struct sockaddr_storage dest;
    socklen_t dest_len;
    int paused;
    uint64_t send_errors;
    uint64_t recv_errors;
} Entry;

typedef struct {
    int fd;
    uint32_t gen;
    int len;
    double arrival;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    unsigned char data[BUF_SIZE];
} Slot;

typedef struct {
    PyObject_HEAD
    pthread_mutex_t mutex;
    pthread_t thread;
    int thread_started;
    int epfd;
    int wakefd; /* eventfd: Python's loop reads it */
    int stopfd; /* eventfd: stops the thread */
    int closed;
    int rt_priority; /* SCHED_FIFO priority of the thread (0: the process's policy) */
    int realtime;    /* the thread got it */
    Entry **table;
    int table_size;
    uint32_t next_gen;
    Slot *queue;
    int q_head;
    int q_count;
    int wake_pending;
    uint64_t relayed;
    uint64_t slow;
    uint64_t dropped;
} Relay;

static double mono_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void put16(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get16(const unsigned char *p) { return ((uint32_t)p[0] << 8) | p[1]; }

static uint32_t get32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int same_addr(const struct sockaddr_storage *a, socklen_t alen,
                     const struct sockaddr_storage *b, socklen_t blen) {
    if (a->ss_family != b->ss_family) return 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a;
        const struct sockaddr_in *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
        const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    return alen == blen && memcmp(a, b, alen) == 0;
}

static Entry *lookup(Relay *self, int fd) {
    if (fd < 0 || fd >= self->table_size) return NULL;
    Entry *e = self->table[fd];
    return (e != NULL && e->active) ? e : NULL;
}

/* The entry sending to ``e``'s stream (the other direction), if native too. */
static Entry *reverse_of(Relay *self, Entry *e) {
    Entry *r = lookup(self, e->target_fd);
    return (r != NULL && r->target_fd == e->fd) ? r : NULL;
}

static void learn_remote(Relay *self, Entry *e, const struct sockaddr_storage *addr,
                         socklen_t len) {
    if (e->remote_len == len && same_addr(&e->remote, e->remote_len, addr, len)) return;
    memcpy(&e->remote, addr, len);
    e->remote_len = len;
    Entry *r = reverse_of(self, e);
    if (r != NULL) {
        memcpy(&r->dest, addr, len);
        r->dest_len = len;
    }
}

static void enqueue(Relay *self, Entry *e, const unsigned char *data, int len,
                    const struct sockaddr_storage *addr, socklen_t alen, double arrival) {
    if (self->q_count >= QUEUE_SIZE) {
        self->dropped++;
        return;
    }
    Slot *s = &self->queue[(self->q_head + self->q_count) % QUEUE_SIZE];
    s->fd = e->fd;
    s->gen = e->gen;
    s->len = len;
    s->arrival = arrival;
    memcpy(&s->addr, addr, alen);
    s->addr_len = alen;
    memcpy(s->data, data, (size_t)len);
    self->q_count++;
    self->slow++;
}

/* One datagram of ``e`` (the mutex is held). */
static void process(Relay *self, Entry *e, unsigned char *buf, int len,
                    struct sockaddr_storage *addr, socklen_t alen, double now) {
    if (len < 12 || buf[0] != 0x80 || (buf[1] & 0x7F) != e->pt) {
        /* DTMF, RTCP on the RTP port, other headers, truncated: Python's path */
        enqueue(self, e, buf, len, addr, alen, now);
        return;
    }
    uint32_t second = buf[1];
    uint32_t seq = get16(buf + 2);
    uint32_t ts = get32(buf + 4);
    uint32_t ssrc = get32(buf + 8);
    if (!e->have_src || ssrc != e->src_ssrc) {
        /* a new source (RtpSession.receive's _Source) */
        e->have_src = 1;
        e->src_gen++;
        e->src_ssrc = ssrc;
        e->base_seq = seq;
        e->max_seq = seq;
        e->cycles = 0;
        e->received = 1;
        e->have_transit = 0;
        e->jitter = 0.0;
    } else {
        int32_t delta = (int32_t)((seq - e->max_seq + 0x8000) & 0xFFFF) - 0x8000;
        if (delta > 0) {
            if (seq < e->max_seq) e->cycles += 1u << 16;
            e->max_seq = seq;
        }
        e->received++;
    }
    e->rx_packets++;
    e->rx_octets += (uint64_t)(len - 12);
    double transit = now * e->rate - (double)ts;
    if (e->have_transit) {
        double d = fabs(transit - e->transit);
        if (d < e->rate * 10) e->jitter += (d - e->jitter) / 16;
    }
    e->transit = transit;
    e->have_transit = 1;
    if (e->symmetric) learn_remote(self, e, addr, alen);
    if (e->paused) return;
    uint32_t marker;
    if (e->relay_ssrc != (int64_t)ssrc || e->relay_next != (int64_t)e->out_seq) {
        e->relay_ssrc = ssrc;
        e->relay_seq = (e->out_seq - seq) & 0xFFFF;
        e->relay_ts = e->out_ts - ts;
        marker = 0x80;
    } else {
        marker = second & 0x80;
    }
    uint32_t oseq = (seq + e->relay_seq) & 0xFFFF;
    uint32_t ots = ts + e->relay_ts;
    int32_t ahead = (int32_t)((oseq - e->out_seq + 0x8000) & 0xFFFF) - 0x8000;
    if (ahead >= 0) {
        e->out_seq = (oseq + 1) & 0xFFFF;
        e->out_ts = ots + e->samples;
    }
    e->relay_next = e->out_seq;
    e->tx_packets++;
    e->tx_octets += (uint64_t)(len - 12);
    e->next_marker = 0;
    if (e->dest_len == 0) return;
    buf[1] = (unsigned char)(marker | (uint32_t)(e->out_pt & 0x7F));
    put16(buf + 2, oseq);
    put32(buf + 4, ots);
    put32(buf + 8, e->out_ssrc);
    if (sendto(e->target_fd, buf, (size_t)len, MSG_DONTWAIT, (struct sockaddr *)&e->dest,
               e->dest_len) < 0) {
        e->send_errors++;
    } else {
        self->relayed++;
    }
}

static void *run(void *arg) {
    Relay *self = (Relay *)arg;
    struct epoll_event events[MAX_EVENTS];
    unsigned char buf[BUF_SIZE];
    for (;;) {
        int n = epoll_wait(self->epfd, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        int stop = 0;
        double mono = mono_now();
        int wake = 0;
        for (int i = 0; i < n; i++) {
            uint64_t key = events[i].data.u64;
            if (key == STOP_KEY) {
                stop = 1;
                continue;
            }
            int fd = (int)(key & 0xFFFFFFFFu);
            uint32_t gen = (uint32_t)(key >> 32);
            pthread_mutex_lock(&self->mutex);
            Entry *e = lookup(self, fd);
            if (e != NULL && e->gen == gen) {
                for (int k = 0; k < READS_PER_EVENT; k++) {
                    struct sockaddr_storage addr;
                    socklen_t alen = sizeof(addr);
                    ssize_t got = recvfrom(fd, buf, BUF_SIZE, MSG_DONTWAIT,
                                           (struct sockaddr *)&addr, &alen);
                    if (got < 0) {
                        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                            e->recv_errors++;
                        break;
                    }
                    if (alen > sizeof(addr)) alen = sizeof(addr);
                    process(self, e, buf, (int)got, &addr, alen, mono + e->offset);
                }
            }
            if (self->q_count > 0 && !self->wake_pending) {
                self->wake_pending = 1;
                wake = 1;
            }
            pthread_mutex_unlock(&self->mutex);
        }
        if (wake) {
            uint64_t one = 1;
            ssize_t w = write(self->wakefd, &one, sizeof(one));
            (void)w;
        }
        if (stop) break;
    }
    return NULL;
}

/* ------------------------------------------------------------------ Python side */

static void lock_mutex(Relay *self) {
    if (pthread_mutex_trylock(&self->mutex) == 0) return;
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&self->mutex);
    Py_END_ALLOW_THREADS
}

static int parse_addr(PyObject *obj, struct sockaddr_storage *out, socklen_t *len) {
    if (obj == Py_None) {
        *len = 0;
        return 1;
    }
    const char *host;
    int port;
    if (!PyArg_ParseTuple(obj, "si", &host, &port)) return 0;
    if (port < 0 || port > 65535) {
        PyErr_SetString(PyExc_ValueError, "port out of range");
        return 0;
    }
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof(*v4);
        return 1;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*v6);
        return 1;
    }
    PyErr_Format(PyExc_ValueError, "not a numeric address: %s", host);
    return 0;
}

static PyObject *addr_tuple(const struct sockaddr_storage *addr, socklen_t len) {
    char host[INET6_ADDRSTRLEN];
    if (len == 0) Py_RETURN_NONE;
    if (addr->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)addr;
        if (inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host)) == NULL) Py_RETURN_NONE;
        return Py_BuildValue("(si)", host, (int)ntohs(v4->sin_port));
    }
    if (addr->ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)addr;
        if (inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host)) == NULL) Py_RETURN_NONE;
        return Py_BuildValue("(si)", host, (int)ntohs(v6->sin6_port));
    }
    Py_RETURN_NONE;
}

/* Fields of set()/add(): name, kind, offset. */
enum { F_INT, F_U32, F_U64, F_I64, F_DBL, F_BOOL };
typedef struct {
    const char *name;
    int kind;
    size_t offset;
} Field;

#define FIELD(n, k) {#n, k, offsetof(Entry, n)}
static const Field FIELDS[] = {
    FIELD(offset, F_DBL),      FIELD(pt, F_INT),          FIELD(rate, F_DBL),
    FIELD(symmetric, F_BOOL),  FIELD(have_src, F_BOOL),   FIELD(src_gen, F_U32),
    FIELD(src_ssrc, F_U32),    FIELD(base_seq, F_U32),    FIELD(max_seq, F_U32),
    FIELD(cycles, F_U64),      FIELD(received, F_U64),    FIELD(have_transit, F_BOOL),
    FIELD(transit, F_DBL),     FIELD(jitter, F_DBL),      FIELD(rx_packets, F_U64),
    FIELD(rx_octets, F_U64),   FIELD(out_ssrc, F_U32),    FIELD(out_pt, F_INT),
    FIELD(out_seq, F_U32),     FIELD(out_ts, F_U32),      FIELD(samples, F_U32),
    FIELD(tx_packets, F_U64),  FIELD(tx_octets, F_U64),   FIELD(next_marker, F_BOOL),
    FIELD(relay_ssrc, F_I64),  FIELD(relay_seq, F_U32),   FIELD(relay_ts, F_U32),
    FIELD(relay_next, F_I64),  FIELD(paused, F_BOOL),     FIELD(send_errors, F_U64),
    FIELD(recv_errors, F_U64), {NULL, 0, 0},
};

static int set_field(Entry *e, const Field *f, PyObject *value) {
    char *p = (char *)e + f->offset;
    switch (f->kind) {
    case F_DBL: {
        double v = PyFloat_AsDouble(value);
        if (v == -1.0 && PyErr_Occurred()) return 0;
        *(double *)p = v;
        return 1;
    }
    case F_BOOL: {
        int v = PyObject_IsTrue(value);
        if (v < 0) return 0;
        *(int *)p = v;
        return 1;
    }
    default: {
        long long v = PyLong_AsLongLong(value);
        if (v == -1 && PyErr_Occurred()) return 0;
        if (f->kind == F_INT) *(int *)p = (int)v;
        else if (f->kind == F_U32) *(uint32_t *)p = (uint32_t)v;
        else if (f->kind == F_U64) *(uint64_t *)p = (uint64_t)v;
        else *(int64_t *)p = (int64_t)v;
        return 1;
    }
    }
}

static PyObject *get_field(const Entry *e, const Field *f) {
    const char *p = (const char *)e + f->offset;
    switch (f->kind) {
    case F_DBL: return PyFloat_FromDouble(*(const double *)p);
    case F_BOOL: return PyBool_FromLong(*(const int *)p);
    case F_INT: return PyLong_FromLong(*(const int *)p);
    case F_U32: return PyLong_FromUnsignedLong(*(const uint32_t *)p);
    case F_U64: return PyLong_FromUnsignedLongLong(*(const uint64_t *)p);
    default: return PyLong_FromLongLong(*(const int64_t *)p);
    }
}

/* Apply keyword fields (and remote/dest) to a copy of ``e``; on success copy back. */
static int apply_kwargs(Relay *self, Entry *e, PyObject *kwargs) {
    if (kwargs == NULL) return 1;
    Entry copy = *e;
    int remote_set = 0;
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(kwargs, &pos, &key, &value)) {
        const char *name = PyUnicode_AsUTF8(key);
        if (name == NULL) return 0;
        if (strcmp(name, "remote") == 0) {
            if (!parse_addr(value, &copy.remote, &copy.remote_len)) return 0;
            remote_set = 1;
            continue;
        }
        if (strcmp(name, "dest") == 0) {
            if (!parse_addr(value, &copy.dest, &copy.dest_len)) return 0;
            continue;
        }
        const Field *f = FIELDS;
        while (f->name != NULL && strcmp(f->name, name) != 0) f++;
        if (f->name == NULL) {
            PyErr_Format(PyExc_TypeError, "unknown relay field: %s", name);
            return 0;
        }
        if (!set_field(&copy, f, value)) return 0;
    }
    *e = copy;
    if (remote_set && e->active) {
        Entry *r = reverse_of(self, e);
        if (r != NULL) {
            memcpy(&r->dest, &e->remote, sizeof(e->remote));
            r->dest_len = e->remote_len;
        }
    }
    return 1;
}

static PyObject *entry_dict(const Entry *e) {
    PyObject *d = PyDict_New();
    if (d == NULL) return NULL;
    for (const Field *f = FIELDS; f->name != NULL; f++) {
        PyObject *v = get_field(e, f);
        if (v == NULL || PyDict_SetItemString(d, f->name, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(v);
    }
    PyObject *remote = addr_tuple(&e->remote, e->remote_len);
    PyObject *dest = addr_tuple(&e->dest, e->dest_len);
    PyObject *gen = PyLong_FromUnsignedLong(e->gen);
    int bad = remote == NULL || dest == NULL || gen == NULL ||
              PyDict_SetItemString(d, "remote", remote) < 0 ||
              PyDict_SetItemString(d, "dest", dest) < 0 ||
              PyDict_SetItemString(d, "gen", gen) < 0;
    Py_XDECREF(remote);
    Py_XDECREF(dest);
    Py_XDECREF(gen);
    if (bad) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

static int check_open(Relay *self) {
    if (self->closed) {
        PyErr_SetString(PyExc_ValueError, "relay is closed");
        return 0;
    }
    return 1;
}

static int start_thread(Relay *self) {
    if (self->thread_started) return 1;
    if (pthread_create(&self->thread, NULL, run, self) != 0) {
        PyErr_SetString(PyExc_OSError, "cannot start the relay thread");
        return 0;
    }
    self->thread_started = 1;
    if (self->rt_priority > 0) {
        struct sched_param param;
        memset(&param, 0, sizeof(param));
        param.sched_priority = self->rt_priority;
        self->realtime = pthread_setschedparam(self->thread, SCHED_FIFO, &param) == 0;
    }
    return 1;
}

static PyObject *Relay_add(Relay *self, PyObject *args, PyObject *kwargs) {
    int fd, target_fd;
    if (!PyArg_ParseTuple(args, "ii", &fd, &target_fd)) return NULL;
    if (!check_open(self)) return NULL;
    if (fd < 0 || target_fd < 0 || fd > 1 << 22) {
        PyErr_SetString(PyExc_ValueError, "bad descriptor");
        return NULL;
    }
    Entry fresh;
    memset(&fresh, 0, sizeof(fresh));
    fresh.fd = fd;
    fresh.target_fd = target_fd;
    fresh.rate = 8000;
    fresh.samples = 160;
    fresh.relay_ssrc = -1;
    fresh.relay_next = -1;
    if (!apply_kwargs(self, &fresh, kwargs)) return NULL;
    if (!start_thread(self)) return NULL;
    lock_mutex(self);
    if (lookup(self, fd) != NULL) {
        pthread_mutex_unlock(&self->mutex);
        PyErr_SetString(PyExc_ValueError, "descriptor already relaying");
        return NULL;
    }
    if (fd >= self->table_size) {
        int size = self->table_size ? self->table_size : 256;
        while (size <= fd) size *= 2;
        Entry **table = realloc(self->table, sizeof(Entry *) * (size_t)size);
        if (table == NULL) {
            pthread_mutex_unlock(&self->mutex);
            return PyErr_NoMemory();
        }
        memset(table + self->table_size, 0,
               sizeof(Entry *) * (size_t)(size - self->table_size));
        self->table = table;
        self->table_size = size;
    }
    Entry *e = self->table[fd];
    if (e == NULL) {
        e = malloc(sizeof(Entry));
        if (e == NULL) {
            pthread_mutex_unlock(&self->mutex);
            return PyErr_NoMemory();
        }
        self->table[fd] = e;
    }
    *e = fresh;
    e->gen = ++self->next_gen;
    e->active = 1;
    /* the other direction may already relay into this stream: it sends to our remote */
    Entry *r = reverse_of(self, e);
    if (r != NULL && e->remote_len) {
        memcpy(&r->dest, &e->remote, sizeof(e->remote));
        r->dest_len = e->remote_len;
    }
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u64 = ((uint64_t)e->gen << 32) | (uint32_t)fd;
    if (epoll_ctl(self->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int err = errno;
        e->active = 0;
        pthread_mutex_unlock(&self->mutex);
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    uint32_t gen = e->gen;
    pthread_mutex_unlock(&self->mutex);
    return PyLong_FromUnsignedLong(gen);
}

static PyObject *Relay_remove(Relay *self, PyObject *args) {
    int fd;
    if (!PyArg_ParseTuple(args, "i", &fd)) return NULL;
    lock_mutex(self);
    Entry *e = lookup(self, fd);
    if (e == NULL) {
        pthread_mutex_unlock(&self->mutex);
        Py_RETURN_NONE;
    }
    epoll_ctl(self->epfd, EPOLL_CTL_DEL, fd, NULL);
    e->active = 0;
    /* queued datagrams of this descriptor go too: it may be closed and reused */
    int kept = 0;
    for (int i = 0; i < self->q_count; i++) {
        Slot *s = &self->queue[(self->q_head + i) % QUEUE_SIZE];
        if (s->fd == fd) continue;
        if (kept != i) {
            Slot *d = &self->queue[(self->q_head + kept) % QUEUE_SIZE];
            memcpy(d, s, sizeof(Slot));
        }
        kept++;
    }
    self->q_count = kept;
    Entry copy = *e;
    pthread_mutex_unlock(&self->mutex);
    return entry_dict(&copy);
}

static PyObject *Relay_get(Relay *self, PyObject *args) {
    int fd;
    if (!PyArg_ParseTuple(args, "i", &fd)) return NULL;
    lock_mutex(self);
    Entry *e = lookup(self, fd);
    if (e == NULL) {
        pthread_mutex_unlock(&self->mutex);
        Py_RETURN_NONE;
    }
    Entry copy = *e;
    pthread_mutex_unlock(&self->mutex);
    return entry_dict(&copy);
}

static PyObject *Relay_set(Relay *self, PyObject *args, PyObject *kwargs) {
    int fd;
    if (!PyArg_ParseTuple(args, "i", &fd)) return NULL;
    lock_mutex(self);
    Entry *e = lookup(self, fd);
    if (e == NULL) {
        pthread_mutex_unlock(&self->mutex);
        Py_RETURN_FALSE;
    }
    int ok = apply_kwargs(self, e, kwargs);
    pthread_mutex_unlock(&self->mutex);
    if (!ok) return NULL;
    Py_RETURN_TRUE;
}

static PyObject *Relay_lock(Relay *self, PyObject *Py_UNUSED(ignored)) {
    lock_mutex(self);
    Py_RETURN_NONE;
}

static PyObject *Relay_unlock(Relay *self, PyObject *Py_UNUSED(ignored)) {
    pthread_mutex_unlock(&self->mutex);
    Py_RETURN_NONE;
}

static PyObject *Relay_drain(Relay *self, PyObject *Py_UNUSED(ignored)) {
    uint64_t count;
    ssize_t r = read(self->wakefd, &count, sizeof(count));
    (void)r;
    PyObject *out = PyList_New(0);
    if (out == NULL) return NULL;
    for (;;) {
        lock_mutex(self);
        if (self->q_count == 0) {
            self->wake_pending = 0;
            pthread_mutex_unlock(&self->mutex);
            break;
        }
        /* copy a slot out under the lock, build Python objects after it */
        Slot slot;
        memcpy(&slot, &self->queue[self->q_head], sizeof(Slot));
        self->q_head = (self->q_head + 1) % QUEUE_SIZE;
        self->q_count--;
        pthread_mutex_unlock(&self->mutex);
        PyObject *addr = addr_tuple(&slot.addr, slot.addr_len);
        if (addr == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyObject *item = Py_BuildValue("(iIy#Nd)", slot.fd, slot.gen, (const char *)slot.data,
                                       (Py_ssize_t)slot.len, addr, slot.arrival);
        if (item == NULL || PyList_Append(out, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(item);
    }
    return out;
}

static PyObject *Relay_counters(Relay *self, PyObject *Py_UNUSED(ignored)) {
    lock_mutex(self);
    uint64_t relayed = self->relayed, slow = self->slow, dropped = self->dropped;
    int queued = self->q_count;
    pthread_mutex_unlock(&self->mutex);
    return Py_BuildValue("{sKsKsKsisi}", "relayed", (unsigned long long)relayed, "slow",
                         (unsigned long long)slow, "dropped", (unsigned long long)dropped,
                         "queued", queued, "realtime", self->realtime);
}

static void stop_thread(Relay *self) {
    if (!self->thread_started) return;
    uint64_t one = 1;
    ssize_t w = write(self->stopfd, &one, sizeof(one));
    (void)w;
    Py_BEGIN_ALLOW_THREADS
    pthread_join(self->thread, NULL);
    Py_END_ALLOW_THREADS
    self->thread_started = 0;
}

static void release(Relay *self) {
    if (self->closed) return;
    self->closed = 1;
    stop_thread(self);
    for (int i = 0; i < self->table_size; i++) free(self->table[i]);
    free(self->table);
    self->table = NULL;
    self->table_size = 0;
    free(self->queue);
    self->queue = NULL;
    self->q_count = 0;
    if (self->epfd >= 0) close(self->epfd);
    if (self->wakefd >= 0) close(self->wakefd);
    if (self->stopfd >= 0) close(self->stopfd);
    self->epfd = self->wakefd = self->stopfd = -1;
}

static PyObject *Relay_close(Relay *self, PyObject *Py_UNUSED(ignored)) {
    release(self);
    Py_RETURN_NONE;
}

static PyObject *Relay_wakeup_fd(Relay *self, void *Py_UNUSED(closure)) {
    return PyLong_FromLong(self->wakefd);
}

static int Relay_init(Relay *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"rt_priority", NULL};
    int rt_priority = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|i", kwlist, &rt_priority)) return -1;
    if (rt_priority < 0 || rt_priority > 99) {
        PyErr_SetString(PyExc_ValueError, "rt_priority must be within 0..99");
        return -1;
    }
    self->rt_priority = rt_priority;
    if (self->queue != NULL || self->closed) {
        PyErr_SetString(PyExc_TypeError, "Relay is initialised once");
        return -1;
    }
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&self->mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    self->epfd = epoll_create1(EPOLL_CLOEXEC);
    self->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    self->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    self->queue = calloc(QUEUE_SIZE, sizeof(Slot));
    if (self->epfd < 0 || self->wakefd < 0 || self->stopfd < 0 || self->queue == NULL) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u64 = STOP_KEY;
    if (epoll_ctl(self->epfd, EPOLL_CTL_ADD, self->stopfd, &ev) < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    return 0;
}

static PyObject *Relay_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    Relay *self = (Relay *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->epfd = self->wakefd = self->stopfd = -1;
    }
    return (PyObject *)self;
}

static void Relay_dealloc(Relay *self) {
    if (self->queue != NULL) release(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Relay_methods[] = {
    {"add", (PyCFunction)(void (*)(void))Relay_add, METH_VARARGS | METH_KEYWORDS,
     "add(fd, target_fd, **state) -> generation: relay what fd receives into target_fd."},
    {"remove", (PyCFunction)Relay_remove, METH_VARARGS,
     "remove(fd) -> state or None: stop relaying fd (never touched again afterwards)."},
    {"get", (PyCFunction)Relay_get, METH_VARARGS, "get(fd) -> state or None."},
    {"set", (PyCFunction)(void (*)(void))Relay_set, METH_VARARGS | METH_KEYWORDS,
     "set(fd, **state) -> bool: change fields of a relaying descriptor."},
    {"lock", (PyCFunction)Relay_lock, METH_NOARGS, "Hold the relay thread (recursive)."},
    {"unlock", (PyCFunction)Relay_unlock, METH_NOARGS, "Release lock()."},
    {"drain", (PyCFunction)Relay_drain, METH_NOARGS,
     "drain() -> [(fd, gen, datagram, (host, port), arrival)] handed to Python."},
    {"counters", (PyCFunction)Relay_counters, METH_NOARGS,
     "counters() -> {'relayed', 'slow', 'dropped', 'queued'}."},
    {"close", (PyCFunction)Relay_close, METH_NOARGS, "Stop the thread, free the table."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Relay_getset[] = {
    {"wakeup_fd", (getter)Relay_wakeup_fd, NULL, "readable when drain() has datagrams", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject RelayType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pyari.rtp._relay.Relay",
    .tp_basicsize = sizeof(Relay),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "RTP relay on arrival in a native thread (decision 0029).",
    .tp_new = Relay_new,
    .tp_init = (initproc)Relay_init,
    .tp_dealloc = (destructor)Relay_dealloc,
    .tp_methods = Relay_methods,
    .tp_getset = Relay_getset,
};

static struct PyModuleDef relay_module = {
    PyModuleDef_HEAD_INIT, "pyari.rtp._relay",
    "RTP relay on arrival in a native thread (decision 0029).", -1, NULL,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__relay(void) {
    if (PyType_Ready(&RelayType) < 0) return NULL;
    PyObject *m = PyModule_Create(&relay_module);
    if (m == NULL) return NULL;
    Py_INCREF(&RelayType);
    if (PyModule_AddObject(m, "Relay", (PyObject *)&RelayType) < 0) {
        Py_DECREF(&RelayType);
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "QUEUE_SIZE", QUEUE_SIZE);
    PyModule_AddIntConstant(m, "BUF_SIZE", BUF_SIZE);
    return m;
}
