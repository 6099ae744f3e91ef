package e2e

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sipReply is what the tests read of a SIP response.
type sipReply struct {
	Code    int
	Headers map[string]string // lower-cased names
}

var sipSeq int

// sipRequest sends one SIP request over UDP (TCP when the body is large) to Kamailio on
// 127.0.0.1:port and returns its final response. The e2e cfg drives kazoo_publish from the
// X-* headers, so tests choose exchange, routing key, headers and payload per request.
func sipRequest(t testing.TB, port int, method, user string, headers map[string]string, body string) sipReply {
	t.Helper()
	network := "udp"
	if len(body) > 1200 {
		network = "tcp"
	}
	conn, err := net.DialTimeout(network, fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err != nil {
		t.Fatalf("dial Kamailio: %v", err)
	}
	defer conn.Close()
	local := conn.LocalAddr().(interface{ String() string }).String()
	sipSeq++
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:%s@127.0.0.1:%d SIP/2.0\r\n", method, user, port)
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=z9hG4bK-e2e-%d-%d;rport\r\n", strings.ToUpper(network), local, time.Now().UnixNano(), sipSeq)
	fmt.Fprintf(&b, "From: <sip:tester@127.0.0.1>;tag=e2e%d\r\n", sipSeq)
	fmt.Fprintf(&b, "To: <sip:%s@127.0.0.1>\r\n", user)
	fmt.Fprintf(&b, "Call-ID: e2e-%d-%d@127.0.0.1\r\n", time.Now().UnixNano(), sipSeq)
	fmt.Fprintf(&b, "CSeq: %d %s\r\nMax-Forwards: 70\r\n", sipSeq, method)
	for k, v := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	if body != "" {
		b.WriteString("Content-Type: application/json\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(b.String())); err != nil {
		t.Fatalf("send SIP: %v", err)
	}
	buf := make([]byte, 65536)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no SIP reply to %s %s: %v", method, user, err)
		}
		r := parseReply(string(buf[:n]))
		if r.Code >= 200 {
			return r
		}
	}
}

func parseReply(s string) sipReply {
	r := sipReply{Headers: map[string]string{}}
	lines := strings.Split(s, "\r\n")
	if f := strings.Fields(lines[0]); len(f) >= 2 {
		r.Code, _ = strconv.Atoi(f[1])
	}
	for _, l := range lines[1:] {
		if l == "" {
			break
		}
		if k, v, ok := strings.Cut(l, ":"); ok {
			r.Headers[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	return r
}
