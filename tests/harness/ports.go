package harness

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
)

// Ports are picked at random below the kernel's ephemeral range (so that an
// outgoing connection cannot be handed the same port between FreePort and
// the moment the component binds it) and are never handed out twice by the
// same test binary.
const (
	portLow  = 20000
	portHigh = 32000 // exclusive; the default ephemeral range starts at 32768
)

var (
	portMu    sync.Mutex
	portsUsed = map[int]bool{}
)

// FreePort returns a currently free TCP (and UDP) port on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatalf("harness: FreePort: %v", err)
	}
	return p
}

func freePort() (int, error) {
	return pickPort(func(p int) bool { return tcpFree(p) && udpFree(p) })
}

// freeUDPPair returns a port p such that p and p+2 are free for UDP (sipp's
// RTP echo binds both the -mp port and -mp+2).
func freeUDPPair() (int, error) {
	return pickPort(func(p int) bool { return udpFree(p) && udpFree(p+2) && !reserved(p+2) })
}

func reserved(p int) bool {
	portMu.Lock()
	defer portMu.Unlock()
	return portsUsed[p]
}

func pickPort(ok func(int) bool) (int, error) {
	for i := 0; i < 200; i++ {
		p := portLow + rand.IntN(portHigh-portLow-2)
		if reserved(p) || !ok(p) {
			continue
		}
		portMu.Lock()
		if portsUsed[p] {
			portMu.Unlock()
			continue
		}
		portsUsed[p] = true
		portMu.Unlock()
		return p, nil
	}
	return 0, fmt.Errorf("no free port found in [%d,%d) after 200 attempts", portLow, portHigh)
}

func tcpFree(p int) bool {
	l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func udpFree(p int) bool {
	c, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		return false
	}
	c.Close()
	return true
}
