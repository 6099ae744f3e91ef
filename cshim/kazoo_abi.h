/*
 * kazoo_abi.h - the whole boundary between the C shim and the Go side of kazoo.so.
 *
 * Both sides compile this header (the shim directly, Go through cgo), so a change here is a
 * change of both. Only fixed-width integers, (pointer, length) pairs (kz_bytes_t), output
 * buffers (kz_buf_t) and integer handles cross it; every Go entry returns a kz_status.
 * Pointers passed into Go are C-owned and valid only for the duration of the call: Go copies
 * what it keeps (they are not declared const only because cgo declares exports without
 * const). Output buffers are C-owned too; Go writes at most cap bytes and reports the length.
 * The Go side of every constant and layout here is kazoo/internal/abi (and internal/status);
 * kazoo/internal/abi/abicheck compares them with this header in a unit test and at kzgo_init.
 *
 * Every entry may be called only in a process whose Go runtime runs (kz_go_ready() in the shim):
 * an export called where the runtime was never started would block forever in cgo's
 * _cgo_wait_runtime_init_done.
 */
#ifndef KAZOO_ABI_H
#define KAZOO_ABI_H

#include <stddef.h>
#include <stdint.h>

/* bumped whenever a signature or a record layout below changes */
#define KZ_ABI_VERSION 10

/* len bytes of C memory at ptr: an input, or an area Go writes in place */
typedef struct kz_bytes {
	uint8_t *ptr;
	int64_t len;
} kz_bytes_t;

/* an output buffer: Go writes at most cap bytes at ptr and sets len to their length (on
 * KZ_ERR_BUFFER: the size needed, nothing usable written). As an error buffer (err), Go
 * writes a message there and sets len when the status is an error; the shim's is kz_err. */
typedef struct kz_buf {
	uint8_t *ptr;
	int64_t cap;
	int64_t len;
} kz_buf_t;

typedef enum kz_status {
	KZ_OK = 0,
	KZ_ERR_ARGUMENT = -1,  /* bad input from the script: payload, key, headers */
	KZ_ERR_NO_BROKER = -2, /* no open connection to any broker */
	KZ_ERR_TIMEOUT = -3,   /* the broker did not answer in time */
	KZ_ERR_REJECTED = -4,  /* the broker refused: nack, channel closed (unknown exchange, ...) */
	KZ_ERR_INTERNAL = -5,  /* a bug on our side (a recovered Go panic) */
	KZ_ERR_NOT_RUNNING = -6, /* Go is not running in this process (shim-side only) */
	KZ_ERR_CONFIG = -7,    /* the configuration handed to kzgo_init is unusable */
	KZ_ERR_BUFFER = -8,    /* the output buffer is too small: *len says how large it must be */
	KZ_ERR_SPOOL_FULL = -9, /* no broker, and this process's publish spool is full */
	KZ_SPOOLED = 1,         /* not an error: no broker now; the publish waits in the spool */
	KZ_PENDING = 2          /* not an error: a query or publish was sent and has no outcome yet */
} kz_status;

/* what a JSON path found (kz.json, kazoo_json) */
enum kz_json_kind {
	KZ_JSON_STRING = 0, KZ_JSON_NUMBER = 1, KZ_JSON_BOOL = 2, KZ_JSON_NULL = 3,
	KZ_JSON_OBJECT = 4, KZ_JSON_ARRAY = 5, KZ_JSON_MISSING = 6, KZ_JSON_INVALID = 7
};

/* log levels of records Go writes to the log relay pipe (Kamailio's L_* order) */
enum kz_log_level {
	KZ_LOG_ERR = 1,
	KZ_LOG_WARN = 2,
	KZ_LOG_NOTICE = 3,
	KZ_LOG_INFO = 4,
	KZ_LOG_DBG = 5
};

/*
 * Log relay records: Go writes each record with one write(2) of at most KZ_LOG_RECORD_MAX bytes
 * (atomic on a pipe) to the relay pipe: "<level digit><pid>|<text>\n", text without newlines.
 */
#define KZ_LOG_RECORD_MAX 4096

/*
 * Configuration handed to Go at start: a sequence of "key\0value\0" records; the keys, and
 * which may repeat, are in kz_params.def. Values are text; integers in decimal.
 */

/* Implemented in Go (kazoo/exports.go). */

/* KZ_ABI_VERSION the Go side was built with. */
int32_t kzgo_abi_version(void);

/*
 * Start the module's Go side in this process: parse cfg, start the AMQP connection goroutines.
 * Returns at once; connecting happens in the background. log_fd: write end of the relay pipe.
 * err receives a message (err->len its length) when the status is not KZ_OK.
 */
int32_t kzgo_init(kz_bytes_t cfg, int32_t log_fd, kz_buf_t *err);

/*
 * Publish msg->payload (lenient JSON, normalised and completed by Go) to msg->exchange with
 * msg->routing_key, with msg->headers "k1=v1;k2=v2" or a JSON object (may be empty) and
 * msg->flags, the 2600hz fork's publish flags as the script wrote them (digits; empty:
 * none; ignored by queries), in two calls so that
 * the process waits for the broker's confirm in C: kzgo_publish_start returns KZ_PENDING
 * when the message is sent (then poll msg->notify_fd, an eventfd Go writes at each confirm,
 * up to amqp_publish_timeout, and read it empty: when msg->outcome->ready, Go wrote the
 * outcome there (rc, err_len; see kz_outcome_t below; outcome may be NULL); otherwise call
 * kzgo_publish_finish, timed_out 1 when the poll timed out, until it returns anything but
 * KZ_PENDING), or the outcome at once. Outcomes: KZ_OK when the broker confirmed, KZ_SPOOLED when no broker is connected
 * and the message waits in this process's spool (amqp_spool_max), sent in order on
 * reconnect; otherwise err says why. outcome and err must stay valid until the publish ends.
 */
typedef struct kz_outcome kz_outcome_t;
typedef struct kz_message {
	kz_bytes_t exchange, routing_key, payload, headers, flags;
	int32_t notify_fd;     /* the eventfd Go writes when the outcome is known */
	kz_outcome_t *outcome; /* may be NULL */
} kz_message_t;
int32_t kzgo_publish_start(kz_message_t *msg, kz_buf_t *err);
int32_t kzgo_publish_finish(int32_t timed_out, kz_buf_t *err);

/*
 * Where kzgo_query_start's (and kzgo_publish_start's) outcome is written by Go as soon as it is known, before Go writes
 * notify_fd: the waiting process reads it there instead of calling kzgo_query_finish (each
 * call into Go costs the Go runtime thread wake-ups when it returns to C). ready is set
 * last (release); read it with acquire. rc is a kz_status_t; on KZ_OK reply_len is the
 * reply's full length (copied into the reply buffer when it fits), else err_len is the
 * length of the message in the error buffer (its len is not written).
 */
struct kz_outcome {
	int32_t ready;
	int32_t rc;
	int64_t reply_len;
	int64_t err_len;
};

/*
 * A query in two calls, so that the process waits in C and not inside Go:
 * kzgo_query_start sends a request (like kzgo_publish_start, plus Server-ID = this process's
 * reply queue) and returns KZ_PENDING at once, or an error. When its outcome is known, Go
 * writes it to *msg.outcome (ready 0 before the call; may be NULL), reply[0..reply_cap) and
 * err->ptr[0..err->cap), which must stay valid until the query ends, then writes
 * msg.notify_fd (an eventfd of this process). The caller polls notify_fd for up to
 * timeout_ms and reads it empty; when outcome->ready, that is the outcome. Otherwise it calls
 * kzgo_query_finish (timed_out 1 when the poll timed out) until it returns anything but
 * KZ_PENDING (which a wake-up left by an earlier call gives): the query's status, and on
 * KZ_OK the reply copied into reply->ptr[0..reply->cap) with reply->len its full length. A
 * reply larger than the buffer is not copied, either way: kzgo_last_reply copies it into a
 * larger buffer.
 */
typedef struct kz_query {
	kz_message_t msg;
	int64_t timeout_ms;
	uint8_t *reply; /* reply_cap bytes for the reply, written when the outcome is known */
	int64_t reply_cap;
} kz_query_t;
int32_t kzgo_query_start(kz_query_t *q, kz_buf_t *err);
int32_t kzgo_query_finish(int32_t timed_out, kz_buf_t *reply, kz_buf_t *err);

/*
 * kazoo_async_query: a SIP worker suspends the transaction and sends this record, one
 * datagram, to the module's consumer process, whose Go side performs the query and hands
 * the outcome back to its C thread (kzgo_take_event), which resumes the transaction.
 * Layout: little-endian uint32 fields in this order, then the bytes of exchange, routing
 * key, payload and headers back to back.
 */
#define KZ_ASYNC_MAGIC 0x4b5a4131u /* "KZA1" */
enum kz_async_field {
	KZ_ASYNC_F_MAGIC, KZ_ASYNC_F_TINDEX, KZ_ASYNC_F_TLABEL, KZ_ASYNC_F_REPLY_ROUTE,
	KZ_ASYNC_F_FAIL_ROUTE, KZ_ASYNC_F_TIMEOUT_MS, KZ_ASYNC_F_EXCHANGE_LEN,
	KZ_ASYNC_F_ROUTING_KEY_LEN, KZ_ASYNC_F_PAYLOAD_LEN, KZ_ASYNC_F_HEADERS_LEN,
	KZ_ASYNC_F_COUNT
};

/* what kzgo_take_event hands to a consumer worker's C thread */
enum kz_event_kind {
	KZ_EVENT_NONE = 0,        /* nothing pending */
	KZ_EVENT_ASYNC_REPLY = 1, /* resume tindex/tlabel in onreply_route[route], reply in buf */
	KZ_EVENT_ASYNC_FAIL = 2,  /* resume in failure_route[route]; buf holds the reason */
	KZ_EVENT_MESSAGE = 3      /* run event_route[route] (or the KEMI callback) with $kzE/$kzRK */
};
/* route of a KZ_EVENT_MESSAGE taken by the KEMI event_callback */
#define KZ_ROUTE_CALLBACK 0xffffffffu
/* the integers kzgo_take_event writes beside an event's bytes */
#define KZ_EVENT_INTS 4

/*
 * Consumer worker number `worker` (1-based): read async query records from ipc_fd (shared
 * by all workers) and control records from control_fd (this worker's), and signal each
 * ready event by writing a byte to notify_fd.
 */
int32_t kzgo_consumer_start(int32_t worker, int32_t ipc_fd, int32_t notify_fd,
		int32_t control_fd, kz_buf_t *err);

/* Worker 1, after event_route[kazoo:mod-init] ran: every worker may start consuming. */
int32_t kzgo_consumer_ready(kz_buf_t *err);

/*
 * First, when done is not 0, the route of message `done` (an earlier event's handle) has
 * run: it is acknowledged if its subscription waits for that (one call per event instead
 * of two: each call into Go and back costs thread wake-ups).
 * Then take the next event without blocking. Returns its kind (KZ_EVENT_NONE when none) and
 * copies its bytes into buf when they fit; buf->len is their full length (when larger than
 * buf->cap nothing was copied and the event stays queued: call again with a buffer of
 * buf->len bytes). ints[0..KZ_EVENT_INTS):
 *   async:   tindex, tlabel, route, n; buf = reply, or reason followed by n bytes of
 *            $kzR for the failure route (the fork's returned-message JSON; n = 0: $null)
 *   message: handle, payload length, route, 1 if a routing key follows the payload (0 for
 *            connection events); buf = payload ($kzE) then routing key ($kzRK)
 */
int32_t kzgo_take_event(uint32_t done, uint32_t *ints, kz_buf_t *buf);

/*
 * The C thread cannot allocate the `size` bytes the next event needs (pkg memory): Go
 * drops it with one log line - a message is rejected without requeue, an async query's
 * outcome is replaced by its failure (small enough to take next).
 */
void kzgo_refuse_event(int64_t size);

/*
 * $kzProps: the AMQP properties and headers of the message whose event route this consumer
 * worker runs now, as one JSON object, into buf. KZ_OK with buf->len 0 when no message's
 * route runs (a connection event, an async query's route, outside an event route);
 * KZ_ERR_BUFFER with buf->len the size needed when it does not fit.
 */
int32_t kzgo_event_properties(kz_buf_t *buf);

/*
 * kazoo_subscribe(json) and kazoo_subscribe(exchange, type, queue, routing_key): checked
 * here, then handed to every consumer worker. kazoo_unsubscribe(name): name is the
 * subscription's "name", else its queue.
 */
int32_t kzgo_subscribe(kz_bytes_t desc, kz_buf_t *err);
int32_t kzgo_subscribe_simple(kz_bytes_t exchange, kz_bytes_t type, kz_bytes_t queue,
		kz_bytes_t routing_key, kz_buf_t *err);
int32_t kzgo_unsubscribe(kz_bytes_t name, kz_buf_t *err);

/*
 * kazoo_declare_exchange(json), the 2600hz fork's: desc is its exchange description; the
 * exchange is declared (and bound) now, from the calling process. KZ_OK once the broker
 * declared it.
 */
int32_t kzgo_declare_exchange(kz_bytes_t desc, kz_buf_t *err);

/*
 * The connection counters of this process for $xavp(amqpc): "name\0value\0" pairs (value in
 * decimal) written into out (KZ_ERR_BUFFER: out->len is the size needed).
 */
int32_t kzgo_status(kz_buf_t *out);
/*
 * Go adds 1 to *gen (atomically) after every change of what kzgo_status returns, so that
 * the process calls kzgo_status again only then. gen stays valid for the process's life.
 */
void kzgo_watch_status(uint64_t *gen);

/*
 * JSON surface (kz.json, kz.json.count, kazoo_json, kazoo_json_keys, kz.encode). doc may use
 * the lenient dialect; path is already variable-expanded; escape is json_escape_char.
 * Results are written into out (kz_buf_t): on KZ_ERR_BUFFER nothing usable was written and
 * out->len is the size needed. No allocation per call on the Go side.
 */
int32_t kzgo_json_get(kz_bytes_t doc, kz_bytes_t path, int32_t escape, kz_buf_t *out,
		int32_t *kind, kz_buf_t *err);
int32_t kzgo_json_count(kz_bytes_t doc, kz_bytes_t path, int32_t escape, int64_t *count,
		kz_buf_t *err);
/* the keys of the object at path, each followed by a 0 byte, in the order kazoo_json_keys
 * adds them as AVPs */
int32_t kzgo_json_keys(kz_bytes_t doc, kz_bytes_t path, int32_t escape, kz_buf_t *out,
		kz_buf_t *err);
int32_t kzgo_encode(kz_bytes_t in, kz_buf_t *out);

/*
 * kazoo_pua_publish (kind KZ_PUA_ANY), _mwi, _presence, _dialoginfo: the presentity row to
 * write for doc, as KZ_PUA_F_COUNT values in this order, each a little-endian uint32 length
 * then its bytes. KZ_OK with out->len 0: nothing to write (kazoo_pua_publish of an event that
 * is not an update of a known package). The shim writes the row with Kamailio's DB API.
 */
enum kz_pua_kind { KZ_PUA_ANY = 0, KZ_PUA_MWI = 1, KZ_PUA_PRESENCE = 2, KZ_PUA_DIALOG = 3 };
enum kz_pua_field {
	KZ_PUA_F_EVENT, KZ_PUA_F_DOMAIN, KZ_PUA_F_USERNAME, KZ_PUA_F_ETAG, KZ_PUA_F_SENDER,
	KZ_PUA_F_BODY, KZ_PUA_F_EXPIRES, KZ_PUA_F_RECEIVED_TIME, KZ_PUA_F_RESET, /* decimal text */
	KZ_PUA_F_COUNT
};
int32_t kzgo_pua_row(int32_t kind, int32_t include_entity, kz_bytes_t doc, kz_buf_t *out,
		kz_buf_t *err);

/*
 * Status areas for RPC (kamcmd kazoo.status / kazoo.subscriptions), in shared memory that
 * the shim allocates (8-byte aligned): Go writes plain little-endian fields into them (no
 * Kamailio API), each with one atomic store at an offset of its size, the RPC process reads
 * them with one atomic load each.
 * Process slot (one per process that runs Go): struct kz_status_slot; goroutines and
 * go_heap_live are refreshed at each broker change and memory-release look. After the brokers,
 * KZ_SC_COUNT u64 counters of the process (statistics summed over the processes when read:
 * kamcmd stats.get_statistics kazoo:).
 * Subscriptions area (written by consumer 1): u32 sequence (odd while writing), u32 length,
 * then that many bytes of JSON (an array of the subscriptions), truncated to fit.
 */
#define KZ_STATUS_MAX_BROKERS 16
enum kz_broker_state {
	KZ_BROKER_CONNECTING = 0, KZ_BROKER_OPEN = 1, KZ_BROKER_DOWN = 2, KZ_BROKER_STOPPED = 3,
	KZ_BROKER_IDLE = 4, /* not connected: the process has not needed it yet */
	KZ_BROKER_STATE_COUNT
};
enum kz_status_counter {
	KZ_SC_RETURNED,      /* messages the broker returned as unroutable */
	KZ_SC_ACKED,         /* consumed messages acknowledged */
	KZ_SC_REDELIVERED,   /* consumed messages the broker marked redelivered */
	KZ_SC_REJECTED,      /* consumed messages rejected (not JSON, too large) */
	KZ_SC_RECONNECTS,    /* connections opened after a failure or a loss */
	KZ_SC_QUERY_10MS,    /* answered queries by latency: <= 10 ms */
	KZ_SC_QUERY_50MS,    /* <= 50 ms */
	KZ_SC_QUERY_100MS,   /* <= 100 ms */
	KZ_SC_QUERY_500MS,   /* <= 500 ms */
	KZ_SC_QUERY_1S,      /* <= 1 s */
	KZ_SC_QUERY_SLOWER,  /* > 1 s */
	KZ_SC_CONSUMERS_CANCELLED, /* consumers the broker cancelled (basic.cancel), set up again */
	KZ_SC_COUNT
};
struct kz_status_broker {
	uint32_t state;   /* enum kz_broker_state */
	uint32_t blocked; /* 1: connection.blocked */
	int64_t since;    /* unix ms */
	int64_t errors;   /* failed connects and losses */
};
struct kz_status_slot {
	uint32_t pid;
	uint32_t brokers; /* entries of broker[] in use */
	uint32_t queries_in_flight;
	uint32_t goroutines;   /* of the process's Go runtime */
	uint64_t go_heap_live; /* bytes of live Go heap after the last collection */
	struct kz_status_broker broker[KZ_STATUS_MAX_BROKERS];
	uint64_t counters[KZ_SC_COUNT];
};
#define KZ_STATUS_COUNTERS_OFFSET offsetof(struct kz_status_slot, counters)
#define KZ_STATUS_SLOT_SIZE sizeof(struct kz_status_slot)
struct kz_subs_area {
	uint32_t seq;
	uint32_t len;
	uint8_t text[]; /* KZ_SUBS_AREA_SIZE - offsetof(struct kz_subs_area, text) bytes */
};
#define KZ_SUBS_AREA_SIZE (64 * 1024)
int32_t kzgo_status_area(kz_bytes_t slot);
int32_t kzgo_subscriptions_area(kz_bytes_t area);

/* Copies the last reply of kzgo_query_finish into buf (buf.len: its size); returns its
 * length (0: none), or -length when buf is too small (nothing copied). */
int64_t kzgo_last_reply(kz_bytes_t buf);

#endif
