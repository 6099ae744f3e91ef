package module

import (
	"encoding/json"
	"syscall"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker/amqpfake"
)

// A consumer worker consumes the Server-ID queue (declared as the C module declares its
// targeted queues) once kazoo:mod-init has run; what is sent to the Server-ID becomes a
// message event named from the message, with its own Server-ID in the consumer:// form,
// acknowledged when the worker takes it.
func TestWorkerConsumesServerID(t *testing.T) {
	srv := amqpfake.NewServer()
	m, _ := fakeModule(t, 0, srv)
	w := startFakeWorker(t, m)
	if err := m.ConsumersReady(); err != nil {
		t.Fatal(err)
	}
	const sid, queue = "kamailio@test-<1>-targeted-0", "kamailio@test-<1-0>"
	deadline := time.Now().Add(fakeWait)
	for len(srv.ConsumerTags(queue)) == 0 || !srv.Bound(queue, "targeted", sid) {
		if time.Now().After(deadline) {
			t.Fatalf("queue %s not consumed and bound to targeted with %s", queue, sid)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := srv.Publish("targeted", sid, amqpfake.Properties{}, []byte(`{"Event-Category":"e2e","Event-Name":"reply","Server-ID":"kazoo-app-q","Msg-ID":"r1"}`)); n != 1 {
		t.Fatalf("reply reached %d queues", n)
	}
	ev := nextMessageEvent(t, w)
	if ev.Route != 7 || string(ev.RoutingKey) != sid {
		t.Errorf("event route %d routing key %q", ev.Route, ev.RoutingKey)
	}
	var e map[string]any
	if err := json.Unmarshal(ev.Body, &e); err != nil {
		t.Fatal(err)
	}
	if e["Server-ID"] != "consumer://1/kazoo-app-q" || e["Msg-ID"] != "r1" {
		t.Errorf("$kzE %s", ev.Body)
	}
	if _, ok := srv.WaitMethod(fakeWait, "basic.ack"); !ok {
		t.Error("the message was not acknowledged")
	}
}

// startFakeWorker makes m consumer worker 1, with the sockets the shim would create.
func startFakeWorker(t *testing.T, m *Module) *Worker {
	t.Helper()
	pair := func() (int, int) {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Close(fds[0]); syscall.Close(fds[1]) })
		return fds[0], fds[1]
	}
	_, ipc := pair()
	ctlWrite, ctlRead := pair()
	var notify [2]int
	if err := syscall.Pipe2(notify[:], syscall.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(notify[0]); syscall.Close(notify[1]) })
	m.Cfg.ControlFDs = []int{ctlWrite}
	w, err := m.StartWorker(1, ipc, notify[1], ctlRead)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// nextMessageEvent takes the worker's next event from a consumed message.
func nextMessageEvent(t *testing.T, w *Worker) Event {
	t.Helper()
	deadline := time.Now().Add(fakeWait)
	for time.Now().Before(deadline) {
		ev, _, ok := w.Take(1 << 20)
		if ok && ev.Kind == EventMessage && ev.HasRoutingKey {
			return ev
		}
		if ev.Kind == EventNone {
			time.Sleep(5 * time.Millisecond)
		}
	}
	t.Fatal("no message event")
	return Event{}
}
