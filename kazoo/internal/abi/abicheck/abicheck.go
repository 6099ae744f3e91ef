// Package abicheck compares cshim/kazoo_abi.h (linked here as kazoo_abi.h, so that Go's
// build cache sees its changes) with the Go side of the boundary: package abi, the status
// codes, and the Go packages that keep a value of the header under their own name. Its
// test fails on a drift before any Kamailio run, and kzgo_init refuses to start with one
// (a kazoo.so built from inconsistent sources).
package abicheck

/*
#include <stddef.h>
#include "kazoo_abi.h"

static inline int64_t kz_slot_size(void) { return sizeof(struct kz_status_slot); }
static inline int64_t kz_slot_pid(void) { return offsetof(struct kz_status_slot, pid); }
static inline int64_t kz_slot_brokers(void) { return offsetof(struct kz_status_slot, brokers); }
static inline int64_t kz_slot_in_flight(void) { return offsetof(struct kz_status_slot, queries_in_flight); }
static inline int64_t kz_slot_goroutines(void) { return offsetof(struct kz_status_slot, goroutines); }
static inline int64_t kz_slot_go_heap_live(void) { return offsetof(struct kz_status_slot, go_heap_live); }
static inline int64_t kz_slot_broker(void) { return offsetof(struct kz_status_slot, broker); }
static inline int64_t kz_slot_counters(void) { return offsetof(struct kz_status_slot, counters); }
static inline int64_t kz_counters_offset(void) { return KZ_STATUS_COUNTERS_OFFSET; }
static inline int64_t kz_broker_size(void) { return sizeof(struct kz_status_broker); }
static inline int64_t kz_broker_state(void) { return offsetof(struct kz_status_broker, state); }
static inline int64_t kz_broker_blocked(void) { return offsetof(struct kz_status_broker, blocked); }
static inline int64_t kz_broker_since(void) { return offsetof(struct kz_status_broker, since); }
static inline int64_t kz_broker_errors(void) { return offsetof(struct kz_status_broker, errors); }
static inline int64_t kz_subs_seq(void) { return offsetof(struct kz_subs_area, seq); }
static inline int64_t kz_subs_len(void) { return offsetof(struct kz_subs_area, len); }
static inline int64_t kz_subs_text(void) { return offsetof(struct kz_subs_area, text); }
*/
import "C"

import (
	"errors"
	"fmt"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/abi"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/klog"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/kzjson"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/module"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/pua"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// Pair is one value of the boundary as the header (C) and the Go side (Go) have it.
type Pair struct {
	Name  string
	C, Go int64
}

// Pairs lists every value the header shares with Go.
func Pairs() []Pair {
	return []Pair{
		{"KZ_ABI_VERSION", C.KZ_ABI_VERSION, abi.Version},

		// status codes (internal/status)
		{"KZ_OK", C.KZ_OK, int64(status.OK)},
		{"KZ_ERR_ARGUMENT", C.KZ_ERR_ARGUMENT, int64(status.Argument)},
		{"KZ_ERR_NO_BROKER", C.KZ_ERR_NO_BROKER, int64(status.NoBroker)},
		{"KZ_ERR_TIMEOUT", C.KZ_ERR_TIMEOUT, int64(status.Timeout)},
		{"KZ_ERR_REJECTED", C.KZ_ERR_REJECTED, int64(status.Rejected)},
		{"KZ_ERR_INTERNAL", C.KZ_ERR_INTERNAL, int64(status.Internal)},
		{"KZ_ERR_NOT_RUNNING", C.KZ_ERR_NOT_RUNNING, int64(status.NotRunning)},
		{"KZ_ERR_CONFIG", C.KZ_ERR_CONFIG, int64(status.Config)},
		{"KZ_ERR_BUFFER", C.KZ_ERR_BUFFER, int64(status.Buffer)},
		{"KZ_ERR_SPOOL_FULL", C.KZ_ERR_SPOOL_FULL, int64(status.SpoolFull)},
		{"KZ_SPOOLED", C.KZ_SPOOLED, int64(status.Spooled)},

		// JSON kinds (abi, and kzjson's kinds in the same order)
		{"KZ_JSON_STRING", C.KZ_JSON_STRING, abi.JSONString},
		{"KZ_JSON_NUMBER", C.KZ_JSON_NUMBER, abi.JSONNumber},
		{"KZ_JSON_BOOL", C.KZ_JSON_BOOL, abi.JSONBool},
		{"KZ_JSON_NULL", C.KZ_JSON_NULL, abi.JSONNull},
		{"KZ_JSON_OBJECT", C.KZ_JSON_OBJECT, abi.JSONObject},
		{"KZ_JSON_ARRAY", C.KZ_JSON_ARRAY, abi.JSONArray},
		{"KZ_JSON_MISSING", C.KZ_JSON_MISSING, abi.JSONMissing},
		{"KZ_JSON_INVALID", C.KZ_JSON_INVALID, abi.JSONInvalid},
		{"KZ_JSON_MISSING (kzjson.Missing)", C.KZ_JSON_MISSING, int64(kzjson.Missing)},
		{"KZ_JSON_INVALID (kzjson.Invalid)", C.KZ_JSON_INVALID, int64(kzjson.Invalid)},

		// log relay records (abi, and klog's levels)
		{"KZ_LOG_ERR", C.KZ_LOG_ERR, abi.LogErr},
		{"KZ_LOG_WARN", C.KZ_LOG_WARN, abi.LogWarn},
		{"KZ_LOG_NOTICE", C.KZ_LOG_NOTICE, abi.LogNotice},
		{"KZ_LOG_INFO", C.KZ_LOG_INFO, abi.LogInfo},
		{"KZ_LOG_DBG", C.KZ_LOG_DBG, abi.LogDebug},
		{"KZ_LOG_ERR (klog.Err)", C.KZ_LOG_ERR, int64(klog.Err)},
		{"KZ_LOG_WARN (klog.Warn)", C.KZ_LOG_WARN, int64(klog.Warn)},
		{"KZ_LOG_NOTICE (klog.Notice)", C.KZ_LOG_NOTICE, int64(klog.Notice)},
		{"KZ_LOG_INFO (klog.Info)", C.KZ_LOG_INFO, int64(klog.Info)},
		{"KZ_LOG_DBG (klog.Debug)", C.KZ_LOG_DBG, int64(klog.Debug)},
		{"KZ_LOG_RECORD_MAX", C.KZ_LOG_RECORD_MAX, abi.LogRecordMax},

		// async query records
		{"KZ_ASYNC_MAGIC", C.KZ_ASYNC_MAGIC, abi.AsyncMagic},
		{"KZ_ASYNC_F_MAGIC", C.KZ_ASYNC_F_MAGIC, abi.AsyncFieldMagic},
		{"KZ_ASYNC_F_TINDEX", C.KZ_ASYNC_F_TINDEX, abi.AsyncFieldTIndex},
		{"KZ_ASYNC_F_TLABEL", C.KZ_ASYNC_F_TLABEL, abi.AsyncFieldTLabel},
		{"KZ_ASYNC_F_REPLY_ROUTE", C.KZ_ASYNC_F_REPLY_ROUTE, abi.AsyncFieldReplyRoute},
		{"KZ_ASYNC_F_FAIL_ROUTE", C.KZ_ASYNC_F_FAIL_ROUTE, abi.AsyncFieldFailRoute},
		{"KZ_ASYNC_F_TIMEOUT_MS", C.KZ_ASYNC_F_TIMEOUT_MS, abi.AsyncFieldTimeoutMs},
		{"KZ_ASYNC_F_EXCHANGE_LEN", C.KZ_ASYNC_F_EXCHANGE_LEN, abi.AsyncFieldExchangeLen},
		{"KZ_ASYNC_F_ROUTING_KEY_LEN", C.KZ_ASYNC_F_ROUTING_KEY_LEN, abi.AsyncFieldRoutingKeyLen},
		{"KZ_ASYNC_F_PAYLOAD_LEN", C.KZ_ASYNC_F_PAYLOAD_LEN, abi.AsyncFieldPayloadLen},
		{"KZ_ASYNC_F_HEADERS_LEN", C.KZ_ASYNC_F_HEADERS_LEN, abi.AsyncFieldHeadersLen},
		{"KZ_ASYNC_F_COUNT", C.KZ_ASYNC_F_COUNT, abi.AsyncFieldCount},

		// events (abi, and module's names for them)
		{"KZ_EVENT_NONE", C.KZ_EVENT_NONE, abi.EventNone},
		{"KZ_EVENT_ASYNC_REPLY", C.KZ_EVENT_ASYNC_REPLY, abi.EventAsyncReply},
		{"KZ_EVENT_ASYNC_FAIL", C.KZ_EVENT_ASYNC_FAIL, abi.EventAsyncFail},
		{"KZ_EVENT_MESSAGE", C.KZ_EVENT_MESSAGE, abi.EventMessage},
		{"KZ_EVENT_INTS", C.KZ_EVENT_INTS, abi.EventInts},
		{"KZ_ROUTE_CALLBACK", C.KZ_ROUTE_CALLBACK, abi.RouteCallback},
		{"KZ_ROUTE_CALLBACK (module.RouteCallback)", C.KZ_ROUTE_CALLBACK, module.RouteCallback},
		{"KZ_EVENT_NONE (module.EventNone)", C.KZ_EVENT_NONE, module.EventNone},
		{"KZ_EVENT_ASYNC_REPLY (module.EventAsyncReply)", C.KZ_EVENT_ASYNC_REPLY, module.EventAsyncReply},
		{"KZ_EVENT_ASYNC_FAIL (module.EventAsyncFail)", C.KZ_EVENT_ASYNC_FAIL, module.EventAsyncFail},
		{"KZ_EVENT_MESSAGE (module.EventMessage)", C.KZ_EVENT_MESSAGE, module.EventMessage},

		// presentity rows (abi, and pua's kinds)
		{"KZ_PUA_ANY", C.KZ_PUA_ANY, abi.PuaAny},
		{"KZ_PUA_MWI", C.KZ_PUA_MWI, abi.PuaMWI},
		{"KZ_PUA_PRESENCE", C.KZ_PUA_PRESENCE, abi.PuaPresence},
		{"KZ_PUA_DIALOG", C.KZ_PUA_DIALOG, abi.PuaDialog},
		{"KZ_PUA_ANY (pua.Any)", C.KZ_PUA_ANY, int64(pua.Any)},
		{"KZ_PUA_MWI (pua.MWI)", C.KZ_PUA_MWI, int64(pua.MWI)},
		{"KZ_PUA_PRESENCE (pua.Presence)", C.KZ_PUA_PRESENCE, int64(pua.Presence)},
		{"KZ_PUA_DIALOG (pua.Dialog)", C.KZ_PUA_DIALOG, int64(pua.Dialog)},
		{"KZ_PUA_F_EVENT", C.KZ_PUA_F_EVENT, abi.PuaFieldEvent},
		{"KZ_PUA_F_DOMAIN", C.KZ_PUA_F_DOMAIN, abi.PuaFieldDomain},
		{"KZ_PUA_F_USERNAME", C.KZ_PUA_F_USERNAME, abi.PuaFieldUsername},
		{"KZ_PUA_F_ETAG", C.KZ_PUA_F_ETAG, abi.PuaFieldEtag},
		{"KZ_PUA_F_SENDER", C.KZ_PUA_F_SENDER, abi.PuaFieldSender},
		{"KZ_PUA_F_BODY", C.KZ_PUA_F_BODY, abi.PuaFieldBody},
		{"KZ_PUA_F_EXPIRES", C.KZ_PUA_F_EXPIRES, abi.PuaFieldExpires},
		{"KZ_PUA_F_RECEIVED_TIME", C.KZ_PUA_F_RECEIVED_TIME, abi.PuaFieldReceivedTime},
		{"KZ_PUA_F_RESET", C.KZ_PUA_F_RESET, abi.PuaFieldReset},
		{"KZ_PUA_F_COUNT", C.KZ_PUA_F_COUNT, abi.PuaFieldCount},

		// status slot (struct kz_status_slot, struct kz_status_broker)
		{"KZ_STATUS_MAX_BROKERS", C.KZ_STATUS_MAX_BROKERS, abi.StatusMaxBrokers},
		{"sizeof(struct kz_status_slot)", int64(C.kz_slot_size()), abi.SlotSize},
		{"offsetof(kz_status_slot, pid)", int64(C.kz_slot_pid()), abi.SlotPID},
		{"offsetof(kz_status_slot, brokers)", int64(C.kz_slot_brokers()), abi.SlotBrokers},
		{"offsetof(kz_status_slot, queries_in_flight)", int64(C.kz_slot_in_flight()), abi.SlotQueriesInFlight},
		{"offsetof(kz_status_slot, goroutines)", int64(C.kz_slot_goroutines()), abi.SlotGoroutines},
		{"offsetof(kz_status_slot, go_heap_live)", int64(C.kz_slot_go_heap_live()), abi.SlotGoHeapLive},
		{"offsetof(kz_status_slot, broker)", int64(C.kz_slot_broker()), abi.SlotBroker},
		{"offsetof(kz_status_slot, counters)", int64(C.kz_slot_counters()), abi.SlotCounters},
		{"KZ_STATUS_COUNTERS_OFFSET", int64(C.kz_counters_offset()), abi.SlotCounters},
		{"sizeof(struct kz_status_broker)", int64(C.kz_broker_size()), abi.BrokerEntrySize},
		{"offsetof(kz_status_broker, state)", int64(C.kz_broker_state()), abi.BrokerState},
		{"offsetof(kz_status_broker, blocked)", int64(C.kz_broker_blocked()), abi.BrokerBlocked},
		{"offsetof(kz_status_broker, since)", int64(C.kz_broker_since()), abi.BrokerSince},
		{"offsetof(kz_status_broker, errors)", int64(C.kz_broker_errors()), abi.BrokerErrors},
		{"KZ_BROKER_CONNECTING", C.KZ_BROKER_CONNECTING, abi.BrokerConnecting},
		{"KZ_BROKER_OPEN", C.KZ_BROKER_OPEN, abi.BrokerOpen},
		{"KZ_BROKER_DOWN", C.KZ_BROKER_DOWN, abi.BrokerDown},
		{"KZ_BROKER_STOPPED", C.KZ_BROKER_STOPPED, abi.BrokerStopped},
		{"KZ_BROKER_IDLE", C.KZ_BROKER_IDLE, abi.BrokerIdle},
		{"KZ_BROKER_CONNECTING (broker.Connecting)", C.KZ_BROKER_CONNECTING, int64(broker.Connecting)},
		{"KZ_BROKER_OPEN (broker.Open)", C.KZ_BROKER_OPEN, int64(broker.Open)},
		{"KZ_BROKER_DOWN (broker.Down)", C.KZ_BROKER_DOWN, int64(broker.Down)},
		{"KZ_BROKER_STOPPED (broker.Stopped)", C.KZ_BROKER_STOPPED, int64(broker.Stopped)},
		{"KZ_BROKER_IDLE (broker.Idle)", C.KZ_BROKER_IDLE, int64(broker.Idle)},
		{"KZ_SC_RETURNED", C.KZ_SC_RETURNED, abi.CounterReturned},
		{"KZ_SC_ACKED", C.KZ_SC_ACKED, abi.CounterAcked},
		{"KZ_SC_REDELIVERED", C.KZ_SC_REDELIVERED, abi.CounterRedelivered},
		{"KZ_SC_REJECTED", C.KZ_SC_REJECTED, abi.CounterRejected},
		{"KZ_SC_RECONNECTS", C.KZ_SC_RECONNECTS, abi.CounterReconnects},
		{"KZ_SC_QUERY_10MS", C.KZ_SC_QUERY_10MS, abi.CounterQuery10ms},
		{"KZ_SC_QUERY_50MS", C.KZ_SC_QUERY_50MS, abi.CounterQuery50ms},
		{"KZ_SC_QUERY_100MS", C.KZ_SC_QUERY_100MS, abi.CounterQuery100ms},
		{"KZ_SC_QUERY_500MS", C.KZ_SC_QUERY_500MS, abi.CounterQuery500ms},
		{"KZ_SC_QUERY_1S", C.KZ_SC_QUERY_1S, abi.CounterQuery1s},
		{"KZ_SC_QUERY_SLOWER", C.KZ_SC_QUERY_SLOWER, abi.CounterQuerySlower},
		{"KZ_SC_CONSUMERS_CANCELLED", C.KZ_SC_CONSUMERS_CANCELLED, abi.CounterConsumersCancelled},
		{"KZ_SC_COUNT", C.KZ_SC_COUNT, abi.CounterCount},

		// subscriptions area (struct kz_subs_area)
		{"KZ_SUBS_AREA_SIZE", C.KZ_SUBS_AREA_SIZE, abi.SubsAreaSize},
		{"offsetof(kz_subs_area, seq)", int64(C.kz_subs_seq()), abi.SubsSeq},
		{"offsetof(kz_subs_area, len)", int64(C.kz_subs_len()), abi.SubsLen},
		{"offsetof(kz_subs_area, text)", int64(C.kz_subs_text()), abi.SubsText},
	}
}

// Check returns every value on which the header and the Go side disagree, or nil.
func Check() error {
	var errs []error
	for _, p := range Pairs() {
		if p.C != p.Go {
			errs = append(errs, fmt.Errorf("%s is %d in kazoo_abi.h, %d in Go", p.Name, p.C, p.Go))
		}
	}
	return errors.Join(errs...)
}
