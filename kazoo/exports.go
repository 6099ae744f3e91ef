//go:build kazoo_so

package main

/*
#cgo CFLAGS: -I${SRCDIR}/../cshim
#cgo LDFLAGS: -Wl,--wrap=pthread_create
#include "kazoo_abi.h"
*/
import "C"

// This file is the whole boundary on the Go side: every //export and every use of C types.
// Each export defers a guard (a Go panic must never unwind into Kamailio), views the C-owned
// kz_bytes_t inputs as slices of C memory for the duration of the call only, writes its
// results into C-owned kz_buf_t buffers, and returns a kz_status. The record encoders are in
// package abi; abicheck compares them with kazoo_abi.h.

import (
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/abi"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/abi/abicheck"
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

// view returns a slice over C memory without copying; valid only during the call.
func view(p *C.uint8_t, n C.int64_t) []byte {
	if p == nil || n <= 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

// bytesOf views a kz_bytes_t.
func bytesOf(b C.kz_bytes_t) []byte { return view(b.ptr, b.len) }

// bufOf is an empty slice over a kz_buf_t's memory, for append: see fits.
func bufOf(b *C.kz_buf_t) []byte { return view(b.ptr, b.cap)[:0] }

// reply writes err's message into the error buffer (when there is one) and returns its status.
func reply(err error, buf *C.kz_buf_t) C.int32_t {
	if err != nil && buf != nil {
		buf.len = C.int64_t(copy(view(buf.ptr, buf.cap), err.Error()))
	}
	return C.int32_t(status.CodeOf(err))
}

// guard is deferred first by every export that returns a status: a panic becomes
// KZ_ERR_INTERNAL with the panic in err (when not nil) and the stack in the log.
//
// Every export defers one of the guards, so they also tell memrelease that the process is
// working (an idle process's releaser is parked).
func guard(err *C.kz_buf_t, rc *C.int32_t) {
	memrelease.Activity()
	if r := recover(); r != nil {
		logPanic(r)
		*rc = reply(status.Errorf(status.Internal, "internal error (Go panic): %v", r), err)
	}
}

// guardResult is guard for an export whose result is not a status: on a panic it returns
// onPanic.
func guardResult[T any](result *T, onPanic T) {
	memrelease.Activity()
	if r := recover(); r != nil {
		logPanic(r)
		*result = onPanic
	}
}

// guardVoid is guard for an export without a result.
func guardVoid() {
	memrelease.Activity()
	if r := recover(); r != nil {
		logPanic(r)
	}
}

func logPanic(r any) {
	if mod != nil {
		mod.Log.Errorf("BUG: Go panic: %v\n%s", r, debug.Stack())
	}
}

func notRunning(err *C.kz_buf_t) C.int32_t {
	return reply(status.Errorf(status.NotRunning, "kazoo Go side not initialised in this process"), err)
}

//export kzgo_abi_version
func kzgo_abi_version() C.int32_t { return C.KZ_ABI_VERSION }

//export kzgo_init
func kzgo_init(cfg C.kz_bytes_t, logFD C.int32_t, errBuf *C.kz_buf_t) (rc C.int32_t) {
	defer guard(errBuf, &rc)
	if mod != nil {
		return reply(status.Errorf(status.Config, "kazoo Go side already initialised in this process"), errBuf)
	}
	if err := abicheck.Check(); err != nil {
		return reply(status.Errorf(status.Config, "kazoo.so was built from inconsistent sources (kazoo_abi.h and the Go side disagree): %v", err), errBuf)
	}
	c, err := config.Parse(bytesOf(cfg))
	if err != nil {
		return reply(status.Errorf(status.Config, "%v", err), errBuf)
	}
	if c.GoMaxProcs > 0 {
		runtime.GOMAXPROCS(c.GoMaxProcs)
	}
	if c.GoGCPercent != 0 {
		debug.SetGCPercent(c.GoGCPercent)
	}
	log := klog.NewPipe(int(logFD), klog.FromKamailioDebug(c.LogLevel))
	mod = module.New(c, log)
	if c.GoMemRelease > 0 {
		go memrelease.Run(c.GoMemRelease, mod.RefreshRuntimeStatus)
	}
	return C.KZ_OK
}

//export kzgo_publish_start
func kzgo_publish_start(msg *C.kz_message_t, errBuf *C.kz_buf_t) (rc C.int32_t) {
	defer guard(errBuf, &rc)
	if mod == nil {
		return notRunning(errBuf)
	}
	var out module.Outcome
	if msg.outcome != nil {
		pubOutcome.set(cOutcomeTarget{area: msg.outcome, err: errBuf.ptr, errCap: errBuf.cap})
		out = &pubOutcome
	}
	waiting, err := mod.StartPublish(bytesOf(msg.exchange), bytesOf(msg.routing_key),
		bytesOf(msg.payload), bytesOf(msg.headers), bytesOf(msg.flags), int(msg.notify_fd), out)
	if waiting {
		return C.KZ_PENDING
	}
	return reply(err, errBuf)
}

//export kzgo_publish_finish
func kzgo_publish_finish(timedOut C.int32_t, errBuf *C.kz_buf_t) (rc C.int32_t) {
	defer guard(errBuf, &rc)
	if mod == nil {
		return notRunning(errBuf)
	}
	done, err := mod.FinishPublish(timedOut != 0)
	if !done {
		return C.KZ_PENDING
	}
	return reply(err, errBuf)
}

//export kzgo_query_start
func kzgo_query_start(q *C.kz_query_t, errBuf *C.kz_buf_t) (rc C.int32_t) {
	defer guard(errBuf, &rc)
	if mod == nil {
		return notRunning(errBuf)
	}
	msg := &q.msg
	var out module.Outcome
	if msg.outcome != nil {
		queryOutcome.set(cOutcomeTarget{area: msg.outcome, reply: q.reply, replyCap: q.reply_cap, err: errBuf.ptr, errCap: errBuf.cap})
		out = &queryOutcome
	}
	err := mod.StartQuery(bytesOf(msg.exchange), bytesOf(msg.routing_key), bytesOf(msg.payload), bytesOf(msg.headers),
		time.Duration(q.timeout_ms)*time.Millisecond, int(msg.notify_fd), out)
	if err == nil {
		return C.KZ_PENDING
	}
	return reply(err, errBuf)
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
	t.area.rc = C.int32_t(status.CodeOf(err))
	if err != nil {
		t.area.err_len = C.int64_t(copy(view(t.err, t.errCap), err.Error()))
	}
	if err == nil && t.reply != nil {
		t.area.reply_len = C.int64_t(len(r))
		if len(r) <= int(t.replyCap) {
			copy(view(t.reply, t.replyCap), r)
		}
	}
	atomic.StoreInt32((*int32)(unsafe.Pointer(&t.area.ready)), 1) // last: the fields above are complete
}

//export kzgo_query_finish
func kzgo_query_finish(timedOut C.int32_t, replyBuf *C.kz_buf_t, errBuf *C.kz_buf_t) (rc C.int32_t) {
	defer guard(errBuf, &rc)
	if mod == nil {
		return notRunning(errBuf)
	}
	done, err := mod.FinishQuery(timedOut != 0)
	if !done {
		return C.KZ_PENDING
	}
	if err == nil {
		r := mod.Reply()
		replyBuf.len = C.int64_t(len(r))
		if len(r) <= int(replyBuf.cap) {
			copy(view(replyBuf.ptr, replyBuf.cap), r)
		}
	}
	return reply(err, errBuf)
}

//export kzgo_last_reply
func kzgo_last_reply(buf C.kz_bytes_t) (n C.int64_t) {
	defer guardResult(&n, 0)
	if mod == nil {
		return 0
	}
	r := mod.Reply()
	if len(r) > int(buf.len) {
		return -C.int64_t(len(r))
	}
	return C.int64_t(copy(bytesOf(buf), r))
}

// the consumer worker, in the module's "kazoo consumer N" processes only
var worker *module.Worker

//export kzgo_consumer_start
func kzgo_consumer_start(index, ipcFD, notifyFD, controlFD C.int32_t, errBuf *C.kz_buf_t) (rc C.int32_t) {
	defer guard(errBuf, &rc)
	if mod == nil {
		return notRunning(errBuf)
	}
	w, err := mod.StartWorker(int(index), int(ipcFD), int(notifyFD), int(controlFD))
	if err != nil {
		return reply(status.Errorf(status.Internal, "%v", err), errBuf)
	}
	worker = w
	return C.KZ_OK
}

//export kzgo_consumer_ready
func kzgo_consumer_ready(errBuf *C.kz_buf_t) (rc C.int32_t) {
	defer guard(errBuf, &rc)
	if mod == nil {
		return notRunning(errBuf)
	}
	return reply(mod.ConsumersReady(), errBuf)
}

//export kzgo_take_event
func kzgo_take_event(done C.uint32_t, ints *C.uint32_t, buf *C.kz_buf_t) (kind C.int32_t) {
	defer guardResult(&kind, C.KZ_EVENT_NONE)
	if worker == nil {
		return C.KZ_EVENT_NONE
	}
	if done != 0 {
		worker.Done(uint32(done))
	}
	ev, size, ok := worker.Take(int(buf.cap))
	buf.len = C.int64_t(size)
	if !ok || ev.Kind == abi.EventNone {
		return C.int32_t(ev.Kind)
	}
	out := unsafe.Slice((*C.uint32_t)(unsafe.Pointer(ints)), abi.EventInts)
	dst := view(buf.ptr, buf.cap)
	if ev.Kind == abi.EventMessage {
		hasRK := C.uint32_t(0)
		if ev.HasRoutingKey {
			hasRK = 1
		}
		out[0], out[1], out[2], out[3] = C.uint32_t(ev.Handle), C.uint32_t(len(ev.Body)), C.uint32_t(ev.Route), hasRK
		copy(dst[copy(dst, ev.Body):], ev.RoutingKey)
		return C.int32_t(ev.Kind)
	}
	out[0], out[1], out[2], out[3] = C.uint32_t(ev.TIndex), C.uint32_t(ev.TLabel), C.uint32_t(ev.Route), C.uint32_t(len(ev.Reply))
	copy(dst[copy(dst, ev.Body):], ev.Reply)
	return C.int32_t(ev.Kind)
}

//export kzgo_refuse_event
func kzgo_refuse_event(size C.int64_t) {
	defer guardVoid()
	if worker != nil {
		worker.Refuse(int64(size))
	}
}

// propsScratch holds the last $kzProps JSON built, reused by the next (one C thread calls).
var propsScratch []byte

//export kzgo_event_properties
func kzgo_event_properties(buf *C.kz_buf_t) (rc C.int32_t) {
	defer guard(nil, &rc)
	buf.len = 0
	if worker == nil {
		return C.KZ_OK
	}
	b, found, err := worker.CurrentProperties(propsScratch[:0])
	propsScratch = b
	if err != nil {
		mod.Log.Errorf("$kzProps: %v", err)
		return C.KZ_ERR_INTERNAL
	}
	if !found {
		return C.KZ_OK
	}
	buf.len = C.int64_t(len(b))
	if int64(len(b)) > int64(buf.cap) {
		return C.KZ_ERR_BUFFER
	}
	copy(view(buf.ptr, buf.cap), b)
	return C.KZ_OK
}

//export kzgo_subscribe
func kzgo_subscribe(desc C.kz_bytes_t, errBuf *C.kz_buf_t) (rc C.int32_t) {
	defer guard(errBuf, &rc)
	if mod == nil {
		return notRunning(errBuf)
	}
	return reply(mod.Subscribe(bytesOf(desc)), errBuf)
}

//export kzgo_declare_exchange
func kzgo_declare_exchange(desc C.kz_bytes_t, errBuf *C.kz_buf_t) (rc C.int32_t) {
	defer guard(errBuf, &rc)
	if mod == nil {
		return notRunning(errBuf)
	}
	return reply(mod.DeclareExchange(bytesOf(desc)), errBuf)
}

//export kzgo_subscribe_simple
func kzgo_subscribe_simple(exchange, typ, queue, routingKey C.kz_bytes_t, errBuf *C.kz_buf_t) (rc C.int32_t) {
	defer guard(errBuf, &rc)
	if mod == nil {
		return notRunning(errBuf)
	}
	err := mod.SubscribeSimple(string(bytesOf(exchange)), string(bytesOf(typ)), string(bytesOf(queue)), string(bytesOf(routingKey)))
	return reply(err, errBuf)
}

//export kzgo_unsubscribe
func kzgo_unsubscribe(name C.kz_bytes_t, errBuf *C.kz_buf_t) (rc C.int32_t) {
	defer guard(errBuf, &rc)
	if mod == nil {
		return notRunning(errBuf)
	}
	return reply(mod.Unsubscribe(string(bytesOf(name))), errBuf)
}

//export kzgo_pua_row
func kzgo_pua_row(kind, includeEntity C.int32_t, doc C.kz_bytes_t, out *C.kz_buf_t, errBuf *C.kz_buf_t) (rc C.int32_t) {
	defer guard(errBuf, &rc)
	row, skip, err := pua.Build(pua.Kind(kind), bytesOf(doc), time.Now(), includeEntity != 0)
	out.len = 0
	if err != nil {
		return reply(status.Errorf(status.Argument, "%v", err), errBuf)
	}
	if skip {
		return C.KZ_OK
	}
	return emit(out, bufOf(out), abi.AppendPuaRow(bufOf(out), row))
}

//export kzgo_status_area
func kzgo_status_area(slot C.kz_bytes_t) (rc C.int32_t) {
	defer guard(nil, &rc)
	if mod == nil {
		return C.KZ_ERR_NOT_RUNNING
	}
	mod.SetStatusArea(bytesOf(slot)) // shared memory: valid for the process's life
	return C.KZ_OK
}

//export kzgo_subscriptions_area
func kzgo_subscriptions_area(area C.kz_bytes_t) (rc C.int32_t) {
	defer guard(nil, &rc)
	if worker == nil {
		return C.KZ_ERR_NOT_RUNNING
	}
	worker.SetSubscriptionsArea(bytesOf(area))
	return C.KZ_OK
}

//export kzgo_watch_status
func kzgo_watch_status(gen *C.uint64_t) {
	defer guardVoid()
	if mod != nil {
		p := (*uint64)(unsafe.Pointer(gen))
		mod.SetStatusChanged(func() { atomic.AddUint64(p, 1) })
	}
}

//export kzgo_status
func kzgo_status(out *C.kz_buf_t) (rc C.int32_t) {
	defer guard(nil, &rc)
	if mod == nil {
		return C.KZ_ERR_NOT_RUNNING
	}
	return emit(out, bufOf(out), mod.AppendStatus(bufOf(out)))
}

// the JSON evaluator of this process: reused by every call (Kamailio calls from one thread)
var jsonEval kzjson.Evaluator

// bigDocument: after a document larger than this the evaluator drops its cache and buffers,
// so that one huge payload does not pin memory in every SIP worker.
const bigDocument = 64 << 10

func releaseBig(doc C.kz_bytes_t) {
	if doc.len > bigDocument {
		jsonEval.Reset(bigDocument)
	}
}

// Results are appended straight into the C buffer (dst, a slice of it with length 0); when
// a result does not fit, append moves it to Go memory: fits tells, and the caller reports
// KZ_ERR_BUFFER with the size needed so that C retries with a larger buffer.
func fits(res, dst []byte) bool {
	return len(res) == 0 || (len(res) <= cap(dst) && unsafe.SliceData(res) == unsafe.SliceData(dst))
}

// emit reports res, appended to dst (bufOf(out)): its length in out, KZ_ERR_BUFFER when it
// did not fit.
func emit(out *C.kz_buf_t, dst, res []byte) C.int32_t {
	out.len = C.int64_t(len(res))
	if !fits(res, dst) {
		return C.KZ_ERR_BUFFER
	}
	return C.KZ_OK
}

//export kzgo_json_get
func kzgo_json_get(doc, path C.kz_bytes_t, escape C.int32_t, out *C.kz_buf_t, kind *C.int32_t, errBuf *C.kz_buf_t) (rc C.int32_t) {
	defer guard(errBuf, &rc)
	defer releaseBig(doc)
	res, k, err := jsonEval.Get(bufOf(out), bytesOf(doc), bytesOf(path), byte(escape))
	*kind = C.int32_t(kindCode(k))
	if err != nil {
		out.len = 0
		return reply(status.Errorf(status.Argument, "%v", err), errBuf)
	}
	return emit(out, bufOf(out), res)
}

//export kzgo_json_count
func kzgo_json_count(doc, path C.kz_bytes_t, escape C.int32_t, count *C.int64_t, errBuf *C.kz_buf_t) (rc C.int32_t) {
	defer guard(errBuf, &rc)
	defer releaseBig(doc)
	n, err := jsonEval.Count(bytesOf(doc), bytesOf(path), byte(escape))
	*count = C.int64_t(n)
	if err != nil {
		return reply(status.Errorf(status.Argument, "%v", err), errBuf)
	}
	return C.KZ_OK
}

//export kzgo_json_keys
func kzgo_json_keys(doc, path C.kz_bytes_t, escape C.int32_t, out *C.kz_buf_t, errBuf *C.kz_buf_t) (rc C.int32_t) {
	defer guard(errBuf, &rc)
	defer releaseBig(doc)
	res, err := jsonEval.Keys(bufOf(out), bytesOf(doc), bytesOf(path), byte(escape))
	if err != nil {
		out.len = 0
		return reply(status.Errorf(status.Argument, "%v", err), errBuf)
	}
	return emit(out, bufOf(out), res)
}

//export kzgo_encode
func kzgo_encode(in C.kz_bytes_t, out *C.kz_buf_t) (rc C.int32_t) {
	defer guard(nil, &rc)
	res, cut := kzjson.EncodeCut(bufOf(out), bytesOf(in))
	if cut && mod != nil { // cut as the C module cuts, but not silently
		mod.Log.LimitedWarnf("kz.encode outputs cut", "{kz.encode} / kazoo_encode: the encoding of %d input bytes was cut at %d bytes (the limit of a routing key word, as in the C module)",
			int(in.len), len(res))
	}
	return emit(out, bufOf(out), res)
}

func kindCode(k kzjson.Kind) int {
	switch k {
	case kzjson.String:
		return abi.JSONString
	case kzjson.Number:
		return abi.JSONNumber
	case kzjson.Bool:
		return abi.JSONBool
	case kzjson.Null:
		return abi.JSONNull
	case kzjson.Object:
		return abi.JSONObject
	case kzjson.Array:
		return abi.JSONArray
	case kzjson.Missing:
		return abi.JSONMissing
	}
	return abi.JSONInvalid
}
