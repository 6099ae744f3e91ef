package harness

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var sipSeq atomic.Int64

// SipRequest sends one SIP request to Kamailio on 127.0.0.1:port (UDP, or TCP when the body
// does not fit a datagram comfortably) and returns the headers of its final response, names
// lower-cased, plus ":code" holding the status code. It fails the test when no final
// response comes within timeout.
func SipRequest(t testing.TB, port int, method, user string, headers map[string]string, body string, timeout time.Duration) map[string]string {
	t.Helper()
	h, err := TrySipRequest(port, method, user, headers, body, timeout)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	return h
}

// TrySipRequest is SipRequest returning an error instead of failing the test (load
// generators count failures).
func TrySipRequest(port int, method, user string, headers map[string]string, body string, timeout time.Duration) (map[string]string, error) {
	network := "udp"
	if len(body) > 1200 {
		network = "tcp"
	}
	conn, err := net.DialTimeout(network, fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("dial Kamailio: %v", err)
	}
	defer conn.Close()
	seq := sipSeq.Add(1)
	tag := fmt.Sprintf("%d-%d", time.Now().UnixNano(), seq)
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:%s@127.0.0.1:%d SIP/2.0\r\n", method, user, port)
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=z9hG4bK-h-%s;rport\r\n", strings.ToUpper(network), conn.LocalAddr(), tag)
	fmt.Fprintf(&b, "From: <sip:tester@127.0.0.1>;tag=h%s\r\n", tag)
	fmt.Fprintf(&b, "To: <sip:%s@127.0.0.1>\r\n", user)
	fmt.Fprintf(&b, "Call-ID: h-%s@127.0.0.1\r\n", tag)
	fmt.Fprintf(&b, "CSeq: %d %s\r\nMax-Forwards: 70\r\n", seq, method)
	for k, v := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	if body != "" {
		b.WriteString("Content-Type: application/json\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return nil, fmt.Errorf("send SIP: %v", err)
	}
	buf := make([]byte, 65536)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, fmt.Errorf("no SIP reply to %s %s: %v", method, user, err)
		}
		h := parseSipReply(string(buf[:n]))
		if code, _ := strconv.Atoi(h[":code"]); code >= 200 {
			return h, nil
		}
	}
}

func parseSipReply(s string) map[string]string {
	h := map[string]string{}
	lines := strings.Split(s, "\r\n")
	if f := strings.Fields(lines[0]); len(f) >= 2 {
		h[":code"] = f[1]
	}
	for _, l := range lines[1:] {
		if l == "" {
			break
		}
		if k, v, ok := strings.Cut(l, ":"); ok {
			h[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	return h
}
