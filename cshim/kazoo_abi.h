/*
 * kazoo_abi.h - the whole boundary between the C shim and the Go side of kazoo.so.
 *
 * Both sides compile this header (the shim directly, Go through cgo), so a change here is a
 * change of both. Only fixed-width integers, (pointer, length) pairs and integer handles cross
 * it; every Go entry returns a kz_status. Pointers passed into Go are C-owned and valid only for
 * the duration of the call: Go copies what it keeps (they are not declared const only because
 * cgo declares exports without const). Output buffers are C-owned too; Go writes
 * at most *_cap bytes and reports the length.
 *
 * Every entry may be called only in a process whose Go runtime runs (kz_go_ready() in the shim):
 * an export called where the runtime was never started would block forever in cgo's
 * _cgo_wait_runtime_init_done.
 */
#ifndef KAZOO_ABI_H
#define KAZOO_ABI_H

#include <stdint.h>

/* bumped whenever a signature or a record layout below changes */
#define KZ_ABI_VERSION 6

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
 * err receives a message (err_len its length) when the status is not KZ_OK.
 */
int32_t kzgo_init(uint8_t *cfg, int64_t cfg_len, int32_t log_fd,
		uint8_t *err, int64_t err_cap, int64_t *err_len);

/*
 * Publish payload (lenient JSON, normalised and completed by Go) to exchange with routing_key,
 * with headers "k1=v1;k2=v2" (may be empty), in two calls so that the process waits for the
 * broker's confirm in C: kzgo_publish_start returns KZ_PENDING when the message is sent
 * (then poll notify_fd, an eventfd Go writes at each confirm, up to amqp_publish_timeout,
 * and read it empty: when outcome->ready, Go wrote the outcome there (rc, err_len; see
 * kz_outcome_t below; outcome may be NULL); otherwise call kzgo_publish_finish, timed_out 1
 * when the poll timed out, until it returns anything but KZ_PENDING), or the outcome at
 * once. Outcomes: KZ_OK when the broker confirmed, KZ_SPOOLED when no broker is connected
 * and the message waits in this process's spool (amqp_spool_max), sent in order on
 * reconnect; otherwise err says why. outcome and err must stay valid until the publish ends.
 */
typedef struct kz_outcome kz_outcome_t;
int32_t kzgo_publish_start(uint8_t *exchange, int64_t exchange_len,
		uint8_t *routing_key, int64_t routing_key_len,
		uint8_t *payload, int64_t payload_len,
		uint8_t *headers, int64_t headers_len, int32_t notify_fd, kz_outcome_t *outcome,
		uint8_t *err, int64_t err_cap, int64_t *err_len);
int32_t kzgo_publish_finish(int32_t timed_out, uint8_t *err, int64_t err_cap, int64_t *err_len);

/*
 * Where kzgo_query_start's (and kzgo_publish_start's) outcome is written by Go as soon as it is known, before Go writes
 * notify_fd: the waiting process reads it there instead of calling kzgo_query_finish (each
 * call into Go costs the Go runtime thread wake-ups when it returns to C). ready is set
 * last (release); read it with acquire. rc is a kz_status_t; on KZ_OK reply_len is the
 * reply's full length (copied into the reply buffer when it fits), else err_len is the
 * length of the message in the error buffer.
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
 * writes it to *outcome (ready 0 before the call; may be NULL), reply[0..reply_cap) and
 * err[0..err_cap), which must stay valid until the query ends, then writes notify_fd (an
 * eventfd of this process). The caller polls notify_fd for up to timeout_ms and reads it
 * empty; when outcome->ready, that is the outcome. Otherwise it calls kzgo_query_finish
 * (timed_out 1 when the poll timed out) until it returns anything but KZ_PENDING (which a
 * wake-up left by an earlier call gives): the query's status, and on KZ_OK the reply copied
 * into reply[0..reply_cap) with *reply_len its full length. A reply larger than reply_cap
 * is not copied, either way: kzgo_last_reply copies it into a larger buffer.
 */
int32_t kzgo_query_start(uint8_t *exchange, int64_t exchange_len,
		uint8_t *routing_key, int64_t routing_key_len,
		uint8_t *payload, int64_t payload_len,
		uint8_t *headers, int64_t headers_len, int64_t timeout_ms, int32_t notify_fd,
		kz_outcome_t *outcome, uint8_t *reply, int64_t reply_cap,
		uint8_t *err, int64_t err_cap, int64_t *err_len);
int32_t kzgo_query_finish(int32_t timed_out, uint8_t *reply, int64_t reply_cap,
		int64_t *reply_len, uint8_t *err, int64_t err_cap, int64_t *err_len);

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

/*
 * Consumer worker number `worker` (1-based): read async query records from ipc_fd (shared
 * by all workers) and control records from control_fd (this worker's), and signal each
 * ready event by writing a byte to notify_fd.
 */
int32_t kzgo_consumer_start(int32_t worker, int32_t ipc_fd, int32_t notify_fd,
		int32_t control_fd, uint8_t *err, int64_t err_cap, int64_t *err_len);

/* Worker 1, after event_route[kazoo:mod-init] ran: every worker may start consuming. */
int32_t kzgo_consumer_ready(uint8_t *err, int64_t err_cap, int64_t *err_len);

/*
 * First, when done is not 0, the route of message `done` (an earlier event's handle) has
 * run: it is acknowledged if its subscription waits for that (one call per event instead
 * of two: each call into Go and back costs thread wake-ups).
 * Then take the next event without blocking. Returns its kind (KZ_EVENT_NONE when none) and
 * copies its bytes into buf when they fit; *len is their full length (when larger than cap
 * nothing was copied and the event stays queued: call again with a buffer of *len bytes).
 * ints[0..3]:
 *   async:   tindex, tlabel, route, n; buf = reply, or reason followed by n bytes of
 *            $kzR for the failure route (the fork's returned-message JSON; n = 0: $null)
 *   message: handle, payload length, route, 1 if a routing key follows the payload (0 for
 *            connection events); buf = payload ($kzE) then routing key ($kzRK)
 */
int32_t kzgo_take_event(uint32_t done, uint32_t *ints, uint8_t *buf, int64_t cap, int64_t *len);

/*
 * The C thread cannot allocate the `size` bytes the next event needs (pkg memory): Go
 * drops it with one log line - a message is rejected without requeue, an async query's
 * outcome is replaced by its failure (small enough to take next).
 */
void kzgo_refuse_event(int64_t size);

/*
 * kazoo_subscribe(json) and kazoo_subscribe(exchange, type, queue, routing_key): checked
 * here, then handed to every consumer worker. kazoo_unsubscribe(name): name is the
 * subscription's "name", else its queue.
 */
int32_t kzgo_subscribe(uint8_t *desc, int64_t desc_len,
		uint8_t *err, int64_t err_cap, int64_t *err_len);
int32_t kzgo_subscribe_simple(uint8_t *exchange, int64_t exchange_len,
		uint8_t *type, int64_t type_len, uint8_t *queue, int64_t queue_len,
		uint8_t *routing_key, int64_t routing_key_len,
		uint8_t *err, int64_t err_cap, int64_t *err_len);
int32_t kzgo_unsubscribe(uint8_t *name, int64_t name_len,
		uint8_t *err, int64_t err_cap, int64_t *err_len);

/*
 * The connection counters of this process for $xavp(amqpc): "name\0value\0" pairs (value in
 * decimal) written into out; *len their length (KZ_ERR_BUFFER: *len is the size needed).
 */
int32_t kzgo_status(uint8_t *out, int64_t cap, int64_t *len);
/*
 * Go adds 1 to *gen (atomically) after every change of what kzgo_status returns, so that
 * the process calls kzgo_status again only then. gen stays valid for the process's life.
 */
void kzgo_watch_status(uint64_t *gen);

/*
 * JSON surface (kz.json, kz.json.count, kazoo_json, kazoo_json_keys, kz.encode). doc may use
 * the lenient dialect; path is already variable-expanded; escape is json_escape_char.
 * Results are written into out[0..cap): on KZ_ERR_BUFFER nothing usable was written and
 * *len is the size needed. No allocation per call on the Go side.
 */
int32_t kzgo_json_get(uint8_t *doc, int64_t doc_len, uint8_t *path, int64_t path_len,
		int32_t escape, uint8_t *out, int64_t cap, int64_t *len, int32_t *kind,
		uint8_t *err, int64_t err_cap, int64_t *err_len);
int32_t kzgo_json_count(uint8_t *doc, int64_t doc_len, uint8_t *path, int64_t path_len,
		int32_t escape, int64_t *count, uint8_t *err, int64_t err_cap, int64_t *err_len);
/* the keys of the object at path, each followed by a 0 byte, in the order kazoo_json_keys
 * adds them as AVPs */
int32_t kzgo_json_keys(uint8_t *doc, int64_t doc_len, uint8_t *path, int64_t path_len,
		int32_t escape, uint8_t *out, int64_t cap, int64_t *len,
		uint8_t *err, int64_t err_cap, int64_t *err_len);
int32_t kzgo_encode(uint8_t *in, int64_t in_len, uint8_t *out, int64_t cap, int64_t *len);

/*
 * kazoo_pua_publish (kind KZ_PUA_ANY), _mwi, _presence, _dialoginfo: the presentity row to
 * write for doc, as KZ_PUA_F_COUNT values in this order, each a little-endian uint32 length
 * then its bytes. KZ_OK with *len 0: nothing to write (kazoo_pua_publish of an event that
 * is not an update of a known package). The shim writes the row with Kamailio's DB API.
 */
enum kz_pua_kind { KZ_PUA_ANY = 0, KZ_PUA_MWI = 1, KZ_PUA_PRESENCE = 2, KZ_PUA_DIALOG = 3 };
enum kz_pua_field {
	KZ_PUA_F_EVENT, KZ_PUA_F_DOMAIN, KZ_PUA_F_USERNAME, KZ_PUA_F_ETAG, KZ_PUA_F_SENDER,
	KZ_PUA_F_BODY, KZ_PUA_F_EXPIRES, KZ_PUA_F_RECEIVED_TIME, KZ_PUA_F_RESET, /* decimal text */
	KZ_PUA_F_COUNT
};
int32_t kzgo_pua_row(int32_t kind, int32_t include_entity, uint8_t *doc, int64_t doc_len,
		uint8_t *out, int64_t cap, int64_t *len,
		uint8_t *err, int64_t err_cap, int64_t *err_len);

/*
 * Status areas for RPC (kamcmd kazoo.status / kazoo.subscriptions), in shared memory that
 * the shim allocates: Go writes plain little-endian fields into them (no Kamailio API), the
 * RPC process reads them.
 * Process slot (one per process that runs Go): u32 pid, u32 broker count, u32 queries in
 * flight, u32 0; then per broker (at most KZ_STATUS_MAX_BROKERS): u32 state (0 connecting,
 * 1 open, 2 down, 3 stopped), u32 blocked (1: connection.blocked), i64 since (unix ms),
 * i64 errors (failed connects and losses).
 * After the brokers, KZ_SC_COUNT u64 counters of the process (statistics summed over the
 * processes when read: kamcmd stats.get_statistics kazoo:).
 * Subscriptions area (written by consumer 1): u32 sequence (odd while writing), u32 length,
 * then that many bytes of JSON (an array of the subscriptions), truncated to fit.
 */
#define KZ_STATUS_MAX_BROKERS 16
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
	KZ_SC_COUNT
};
#define KZ_STATUS_COUNTERS_OFFSET (16 + 24 * KZ_STATUS_MAX_BROKERS)
#define KZ_STATUS_SLOT_SIZE (KZ_STATUS_COUNTERS_OFFSET + 8 * KZ_SC_COUNT)
#define KZ_SUBS_AREA_SIZE (64 * 1024)
int32_t kzgo_status_area(uint8_t *slot, int64_t slot_len);
int32_t kzgo_subscriptions_area(uint8_t *area, int64_t area_len);

/* Copies the last reply of kzgo_query_finish into buf; returns its length (0: none), or -length
 * when buf is too small (nothing copied). */
int64_t kzgo_last_reply(uint8_t *buf, int64_t cap);

#endif
