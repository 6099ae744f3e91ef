//go:build kazoo_so

package main

/*
#cgo CFLAGS: -I${SRCDIR}/../cshim
#cgo LDFLAGS: -Wl,--wrap=pthread_create
#include "kazoo_abi.h"
*/
import "C"

// This file is the whole boundary on the Go side: every //export and every use of C types.
// Each export recovers panics (a Go panic must never unwind into Kamailio), converts the
// C-owned (pointer, length) pairs into slices that view C memory for the duration of the
// call only, and returns a kz_status.

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/config"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/klog"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/kzjson"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/memrelease"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/module"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/pua"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// the module of this process, set once by kzgo_init
var mod *module.Module

func init() {
	// the Go status codes must be the C ones
	for _, p := range [][2]int{
		{int(C.KZ_OK), int(status.OK)}, {int(C.KZ_ERR_ARGUMENT), int(status.Argument)},
		{int(C.KZ_ERR_NO_BROKER), int(status.NoBroker)}, {int(C.KZ_ERR_TIMEOUT), int(status.Timeout)},
		{int(C.KZ_ERR_REJECTED), int(status.Rejected)}, {int(C.KZ_ERR_INTERNAL), int(status.Internal)},
		{int(C.KZ_ERR_NOT_RUNNING), int(status.NotRunning)}, {int(C.KZ_ERR_CONFIG), int(status.Config)},
		{int(C.KZ_ERR_BUFFER), int(status.Buffer)}, {int(C.KZ_ERR_SPOOL_FULL), int(status.SpoolFull)},
		{int(C.KZ_SPOOLED), int(status.Spooled)},
	} {
		if p[0] != p[1] {
			panic(fmt.Sprintf("kazoo_abi.h and internal/status disagree: %d != %d", p[0], p[1]))
		}
	}
}

// view returns a slice over C memory without copying; valid only during the call.
func view(p *C.uint8_t, n C.int64_t) []byte {
	if p == nil || n <= 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

// reply writes err's message into the C buffer and returns its status.
func reply(err error, buf *C.uint8_t, capacity C.int64_t, length *C.int64_t) C.int32_t {
	code := status.CodeOf(err)
	if err != nil && length != nil {
		n := copy(view(buf, capacity), err.Error())
		*length = C.int64_t(n)
	}
	return C.int32_t(code)
}

// recovered turns a panic into KZ_ERR_INTERNAL with the panic in the error buffer and the
// stack in the log.
func recovered(r any, buf *C.uint8_t, capacity C.int64_t, length *C.int64_t, rc *C.int32_t) {
	if mod != nil {
		mod.Log.Errorf("BUG: Go panic: %v\n%s", r, debug.Stack())
	}
	*rc = reply(status.Errorf(status.Internal, "internal error (Go panic): %v", r), buf, capacity, length)
}

//export kzgo_abi_version
func kzgo_abi_version() C.int32_t { return C.KZ_ABI_VERSION }

//export kzgo_init
func kzgo_init(cfg *C.uint8_t, cfgLen C.int64_t, logFD C.int32_t,
	errBuf *C.uint8_t, errCap C.int64_t, errLen *C.int64_t) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			recovered(r, errBuf, errCap, errLen, &rc)
		}
	}()
	if mod != nil {
		return reply(status.Errorf(status.Config, "kazoo Go side already initialised in this process"), errBuf, errCap, errLen)
	}
	c, err := config.Parse(view(cfg, cfgLen))
	if err != nil {
		return reply(status.Errorf(status.Config, "%v", err), errBuf, errCap, errLen)
	}
	if c.GoMaxProcs > 0 {
		runtime.GOMAXPROCS(c.GoMaxProcs)
	}
	if c.GoGCPercent != 0 {
		debug.SetGCPercent(c.GoGCPercent)
	}
	if c.GoMemRelease > 0 {
		go memrelease.Run(c.GoMemRelease)
	}
	log := klog.NewPipe(int(logFD), klog.FromKamailioDebug(c.LogLevel))
	mod = module.New(c, log)
	return C.KZ_OK
}

//export kzgo_publish_start
func kzgo_publish_start(exchange *C.uint8_t, exchangeLen C.int64_t, routingKey *C.uint8_t, routingKeyLen C.int64_t,
	payload *C.uint8_t, payloadLen C.int64_t, headers *C.uint8_t, headersLen C.int64_t, notifyFD C.int32_t,
	outcome *C.kz_outcome_t, errBuf *C.uint8_t, errCap C.int64_t, errLen *C.int64_t) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			recovered(r, errBuf, errCap, errLen, &rc)
		}
	}()
	if mod == nil {
		return notRunning(errBuf, errCap, errLen)
	}
	var out module.Outcome
	if outcome != nil {
		pubOutcome.set(cOutcomeTarget{area: outcome, err: errBuf, errCap: errCap})
		out = &pubOutcome
	}
	waiting, err := mod.StartPublish(view(exchange, exchangeLen), view(routingKey, routingKeyLen),
		view(payload, payloadLen), view(headers, headersLen), int(notifyFD), out)
	if waiting {
		return C.KZ_PENDING
	}
	return reply(err, errBuf, errCap, errLen)
}

//export kzgo_publish_finish
func kzgo_publish_finish(timedOut C.int32_t, errBuf *C.uint8_t, errCap C.int64_t, errLen *C.int64_t) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			recovered(r, errBuf, errCap, errLen, &rc)
		}
	}()
	if mod == nil {
		return notRunning(errBuf, errCap, errLen)
	}
	done, err := mod.FinishPublish(timedOut != 0)
	if !done {
		return C.KZ_PENDING
	}
	return reply(err, errBuf, errCap, errLen)
}

//export kzgo_query_start
func kzgo_query_start(exchange *C.uint8_t, exchangeLen C.int64_t, routingKey *C.uint8_t, routingKeyLen C.int64_t,
	payload *C.uint8_t, payloadLen C.int64_t, headers *C.uint8_t, headersLen C.int64_t, timeoutMs C.int64_t,
	notifyFD C.int32_t, outcome *C.kz_outcome_t, replyBuf *C.uint8_t, replyCap C.int64_t,
	errBuf *C.uint8_t, errCap C.int64_t, errLen *C.int64_t) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			recovered(r, errBuf, errCap, errLen, &rc)
		}
	}()
	if mod == nil {
		return notRunning(errBuf, errCap, errLen)
	}
	var out module.Outcome
	if outcome != nil {
		queryOutcome.set(cOutcomeTarget{area: outcome, reply: replyBuf, replyCap: replyCap, err: errBuf, errCap: errCap})
		out = &queryOutcome
	}
	err := mod.StartQuery(view(exchange, exchangeLen), view(routingKey, routingKeyLen),
		view(payload, payloadLen), view(headers, headersLen), time.Duration(timeoutMs)*time.Millisecond, int(notifyFD), out)
	if err == nil {
		return C.KZ_PENDING
	}
	return reply(err, errBuf, errCap, errLen)
}

// cOutcome writes a query's or publish's outcome into the kz_outcome_t and buffers of the
// process that waits for it (in C, until the eventfd written right after). Its memory stays
// the caller's: it is written only while the query or publish is pending, and the module
// forgets it when that is finished either way. The start call (a Kamailio thread) sets the
// target while a goroutine may still be delivering the previous outcome (a start that
// follows an unfinished one, or one woken through the eventfd, which orders nothing for
// Go): mu orders the two.
type cOutcome struct {
	mu     sync.Mutex
	target cOutcomeTarget
}

type cOutcomeTarget struct {
	area       *C.kz_outcome_t
	reply, err *C.uint8_t
	replyCap   C.int64_t
	errCap     C.int64_t
}

// The outcomes of this process's synchronous query and publish (one of each at a time;
// package variables so that handing them over allocates nothing).
var queryOutcome, pubOutcome cOutcome

func (o *cOutcome) set(t cOutcomeTarget) {
	o.mu.Lock()
	o.target = t
	o.mu.Unlock()
}

func (o *cOutcome) Deliver(r []byte, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	t := &o.target
	t.area.rc = reply(err, t.err, t.errCap, &t.area.err_len)
	if err == nil && t.reply != nil {
		t.area.reply_len = C.int64_t(len(r))
		if len(r) <= int(t.replyCap) {
			copy(view(t.reply, t.replyCap), r)
		}
	}
	atomic.StoreInt32((*int32)(unsafe.Pointer(&t.area.ready)), 1) // last: the fields above are complete
}

//export kzgo_query_finish
func kzgo_query_finish(timedOut C.int32_t, replyBuf *C.uint8_t, replyCap C.int64_t, replyLen *C.int64_t,
	errBuf *C.uint8_t, errCap C.int64_t, errLen *C.int64_t) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			recovered(r, errBuf, errCap, errLen, &rc)
		}
	}()
	if mod == nil {
		return notRunning(errBuf, errCap, errLen)
	}
	done, err := mod.FinishQuery(timedOut != 0)
	if !done {
		return C.KZ_PENDING
	}
	if err == nil {
		r := mod.Reply()
		*replyLen = C.int64_t(len(r))
		if len(r) <= int(replyCap) {
			copy(view(replyBuf, replyCap), r)
		}
	}
	return reply(err, errBuf, errCap, errLen)
}

//export kzgo_last_reply
func kzgo_last_reply(buf *C.uint8_t, capacity C.int64_t) (n C.int64_t) {
	defer func() {
		if r := recover(); r != nil {
			n = 0
		}
	}()
	if mod == nil {
		return 0
	}
	r := mod.Reply()
	if len(r) > int(capacity) {
		return -C.int64_t(len(r))
	}
	return C.int64_t(copy(view(buf, capacity), r))
}

// the consumer worker, in the module's "kazoo consumer N" processes only
var worker *module.Worker

func notRunning(errBuf *C.uint8_t, errCap C.int64_t, errLen *C.int64_t) C.int32_t {
	return reply(status.Errorf(status.NotRunning, "kazoo Go side not initialised in this process"), errBuf, errCap, errLen)
}

//export kzgo_consumer_start
func kzgo_consumer_start(index, ipcFD, notifyFD, controlFD C.int32_t, errBuf *C.uint8_t, errCap C.int64_t, errLen *C.int64_t) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			recovered(r, errBuf, errCap, errLen, &rc)
		}
	}()
	if mod == nil {
		return notRunning(errBuf, errCap, errLen)
	}
	w, err := mod.StartWorker(int(index), int(ipcFD), int(notifyFD), int(controlFD))
	if err != nil {
		return reply(status.Errorf(status.Internal, "%v", err), errBuf, errCap, errLen)
	}
	worker = w
	return C.KZ_OK
}

//export kzgo_consumer_ready
func kzgo_consumer_ready(errBuf *C.uint8_t, errCap C.int64_t, errLen *C.int64_t) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			recovered(r, errBuf, errCap, errLen, &rc)
		}
	}()
	if mod == nil {
		return notRunning(errBuf, errCap, errLen)
	}
	return reply(mod.ConsumersReady(), errBuf, errCap, errLen)
}

//export kzgo_take_event
func kzgo_take_event(done C.uint32_t, ints *C.uint32_t, buf *C.uint8_t, capacity C.int64_t, length *C.int64_t) (kind C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			if mod != nil {
				mod.Log.Errorf("BUG: Go panic in kzgo_take_event: %v\n%s", r, debug.Stack())
			}
			kind = C.KZ_EVENT_NONE
		}
	}()
	if worker == nil {
		return C.KZ_EVENT_NONE
	}
	if done != 0 {
		worker.Done(uint32(done))
	}
	ev, size, ok := worker.Take(int(capacity))
	*length = C.int64_t(size)
	if !ok || ev.Kind == module.EventNone {
		return C.int32_t(ev.Kind)
	}
	out := unsafe.Slice((*C.uint32_t)(unsafe.Pointer(ints)), 4)
	if ev.Kind == module.EventMessage {
		hasRK := C.uint32_t(0)
		if ev.HasRoutingKey {
			hasRK = 1
		}
		out[0], out[1], out[2], out[3] = C.uint32_t(ev.Handle), C.uint32_t(len(ev.Body)), C.uint32_t(ev.Route), hasRK
		dst := view(buf, capacity)
		copy(dst[copy(dst, ev.Body):], ev.RoutingKey)
		return C.int32_t(ev.Kind)
	}
	out[0], out[1], out[2], out[3] = C.uint32_t(ev.TIndex), C.uint32_t(ev.TLabel), C.uint32_t(ev.Route), C.uint32_t(len(ev.Reply))
	dst := view(buf, capacity)
	copy(dst[copy(dst, ev.Body):], ev.Reply)
	return C.int32_t(ev.Kind)
}

//export kzgo_refuse_event
func kzgo_refuse_event(size C.int64_t) {
	defer func() {
		if r := recover(); r != nil && mod != nil {
			mod.Log.Errorf("BUG: Go panic in kzgo_refuse_event: %v\n%s", r, debug.Stack())
		}
	}()
	if worker != nil {
		worker.Refuse(int64(size))
	}
}

//export kzgo_subscribe
func kzgo_subscribe(desc *C.uint8_t, descLen C.int64_t, errBuf *C.uint8_t, errCap C.int64_t, errLen *C.int64_t) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			recovered(r, errBuf, errCap, errLen, &rc)
		}
	}()
	if mod == nil {
		return notRunning(errBuf, errCap, errLen)
	}
	return reply(mod.Subscribe(view(desc, descLen)), errBuf, errCap, errLen)
}

//export kzgo_subscribe_simple
func kzgo_subscribe_simple(exchange *C.uint8_t, exchangeLen C.int64_t, typ *C.uint8_t, typLen C.int64_t,
	queue *C.uint8_t, queueLen C.int64_t, routingKey *C.uint8_t, routingKeyLen C.int64_t,
	errBuf *C.uint8_t, errCap C.int64_t, errLen *C.int64_t) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			recovered(r, errBuf, errCap, errLen, &rc)
		}
	}()
	if mod == nil {
		return notRunning(errBuf, errCap, errLen)
	}
	err := mod.SubscribeSimple(string(view(exchange, exchangeLen)), string(view(typ, typLen)),
		string(view(queue, queueLen)), string(view(routingKey, routingKeyLen)))
	return reply(err, errBuf, errCap, errLen)
}

//export kzgo_unsubscribe
func kzgo_unsubscribe(name *C.uint8_t, nameLen C.int64_t, errBuf *C.uint8_t, errCap C.int64_t, errLen *C.int64_t) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			recovered(r, errBuf, errCap, errLen, &rc)
		}
	}()
	if mod == nil {
		return notRunning(errBuf, errCap, errLen)
	}
	return reply(mod.Unsubscribe(string(view(name, nameLen))), errBuf, errCap, errLen)
}

//export kzgo_pua_row
func kzgo_pua_row(kind, includeEntity C.int32_t, doc *C.uint8_t, docLen C.int64_t,
	out *C.uint8_t, capacity C.int64_t, length *C.int64_t,
	errBuf *C.uint8_t, errCap C.int64_t, errLen *C.int64_t) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			recovered(r, errBuf, errCap, errLen, &rc)
		}
	}()
	row, skip, err := pua.Build(pua.Kind(kind), view(doc, docLen), time.Now(), includeEntity != 0)
	*length = 0
	if err != nil {
		return reply(status.Errorf(status.Argument, "%v", err), errBuf, errCap, errLen)
	}
	if skip {
		return C.KZ_OK
	}
	dst := view(out, capacity)[:0]
	res := module.AppendPuaRow(dst, row)
	*length = C.int64_t(len(res))
	if !fits(res, dst) {
		return C.KZ_ERR_BUFFER
	}
	return C.KZ_OK
}

//export kzgo_status_area
func kzgo_status_area(slot *C.uint8_t, slotLen C.int64_t) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			rc = C.KZ_ERR_INTERNAL
		}
	}()
	if mod == nil {
		return C.KZ_ERR_NOT_RUNNING
	}
	mod.SetStatusArea(view(slot, slotLen)) // shared memory: valid for the process's life
	return C.KZ_OK
}

//export kzgo_subscriptions_area
func kzgo_subscriptions_area(area *C.uint8_t, areaLen C.int64_t) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			rc = C.KZ_ERR_INTERNAL
		}
	}()
	if worker == nil {
		return C.KZ_ERR_NOT_RUNNING
	}
	worker.SetSubscriptionsArea(view(area, areaLen))
	return C.KZ_OK
}

//export kzgo_watch_status
func kzgo_watch_status(gen *C.uint64_t) {
	defer func() { _ = recover() }()
	if mod != nil {
		p := (*uint64)(unsafe.Pointer(gen))
		mod.SetStatusChanged(func() { atomic.AddUint64(p, 1) })
	}
}

//export kzgo_status
func kzgo_status(out *C.uint8_t, capacity C.int64_t, length *C.int64_t) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			rc = C.KZ_ERR_INTERNAL
		}
	}()
	if mod == nil {
		return C.KZ_ERR_NOT_RUNNING
	}
	dst := view(out, capacity)[:0]
	res := mod.AppendStatus(dst)
	*length = C.int64_t(len(res))
	if !fits(res, dst) {
		return C.KZ_ERR_BUFFER
	}
	return C.KZ_OK
}

// the JSON evaluator of this process: reused by every call (Kamailio calls from one thread)
var jsonEval kzjson.Evaluator

// bigDocument: after a document larger than this the evaluator drops its cache and buffers,
// so that one huge payload does not pin memory in every SIP worker.
const bigDocument = 64 << 10

func releaseBig(docLen C.int64_t) {
	if docLen > bigDocument {
		jsonEval.Reset(bigDocument)
	}
}

// Results are appended straight into the C buffer out[0..cap) (a slice of it with length 0);
// when a result does not fit, append moves it to Go memory: fits tells, and the caller
// reports KZ_ERR_BUFFER with the size needed so that C retries with a larger buffer.
func fits(res, dst []byte) bool {
	return len(res) == 0 || (len(res) <= cap(dst) && unsafe.SliceData(res) == unsafe.SliceData(dst))
}

//export kzgo_json_get
func kzgo_json_get(doc *C.uint8_t, docLen C.int64_t, path *C.uint8_t, pathLen C.int64_t, escape C.int32_t,
	out *C.uint8_t, capacity C.int64_t, length *C.int64_t, kind *C.int32_t,
	errBuf *C.uint8_t, errCap C.int64_t, errLen *C.int64_t) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			recovered(r, errBuf, errCap, errLen, &rc)
		}
	}()
	defer releaseBig(docLen)
	dst := view(out, capacity)[:0]
	res, k, err := jsonEval.Get(dst, view(doc, docLen), view(path, pathLen), byte(escape))
	*kind = C.int32_t(kindCode(k))
	*length = C.int64_t(len(res))
	if err != nil {
		*length = 0
		return reply(status.Errorf(status.Argument, "%v", err), errBuf, errCap, errLen)
	}
	if !fits(res, dst) {
		return C.KZ_ERR_BUFFER
	}
	return C.KZ_OK
}

//export kzgo_json_count
func kzgo_json_count(doc *C.uint8_t, docLen C.int64_t, path *C.uint8_t, pathLen C.int64_t, escape C.int32_t,
	count *C.int64_t, errBuf *C.uint8_t, errCap C.int64_t, errLen *C.int64_t) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			recovered(r, errBuf, errCap, errLen, &rc)
		}
	}()
	defer releaseBig(docLen)
	n, err := jsonEval.Count(view(doc, docLen), view(path, pathLen), byte(escape))
	*count = C.int64_t(n)
	if err != nil {
		return reply(status.Errorf(status.Argument, "%v", err), errBuf, errCap, errLen)
	}
	return C.KZ_OK
}

//export kzgo_json_keys
func kzgo_json_keys(doc *C.uint8_t, docLen C.int64_t, path *C.uint8_t, pathLen C.int64_t, escape C.int32_t,
	out *C.uint8_t, capacity C.int64_t, length *C.int64_t,
	errBuf *C.uint8_t, errCap C.int64_t, errLen *C.int64_t) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			recovered(r, errBuf, errCap, errLen, &rc)
		}
	}()
	defer releaseBig(docLen)
	dst := view(out, capacity)[:0]
	res, err := jsonEval.Keys(dst, view(doc, docLen), view(path, pathLen), byte(escape))
	*length = C.int64_t(len(res))
	if err != nil {
		*length = 0
		return reply(status.Errorf(status.Argument, "%v", err), errBuf, errCap, errLen)
	}
	if !fits(res, dst) {
		return C.KZ_ERR_BUFFER
	}
	return C.KZ_OK
}

//export kzgo_encode
func kzgo_encode(in *C.uint8_t, inLen C.int64_t, out *C.uint8_t, capacity C.int64_t, length *C.int64_t) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			rc = C.KZ_ERR_INTERNAL
		}
	}()
	dst := view(out, capacity)[:0]
	res, cut := kzjson.EncodeCut(dst, view(in, inLen))
	if cut && mod != nil { // cut as the C module cuts, but not silently
		mod.Log.LimitedWarnf("kz.encode outputs cut", "{kz.encode} / kazoo_encode: the encoding of %d input bytes was cut at %d bytes (the limit of a routing key word, as in the C module)",
			int(inLen), len(res))
	}
	*length = C.int64_t(len(res))
	if !fits(res, dst) {
		return C.KZ_ERR_BUFFER
	}
	return C.KZ_OK
}

func kindCode(k kzjson.Kind) int {
	switch k {
	case kzjson.String:
		return C.KZ_JSON_STRING
	case kzjson.Number:
		return C.KZ_JSON_NUMBER
	case kzjson.Bool:
		return C.KZ_JSON_BOOL
	case kzjson.Null:
		return C.KZ_JSON_NULL
	case kzjson.Object:
		return C.KZ_JSON_OBJECT
	case kzjson.Array:
		return C.KZ_JSON_ARRAY
	case kzjson.Missing:
		return C.KZ_JSON_MISSING
	}
	return C.KZ_JSON_INVALID
}
