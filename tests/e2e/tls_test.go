package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// testPKI is a small PKI written to PEM files: a CA, an unrelated CA, a server certificate
// for 127.0.0.1 and localhost, one for other.example (both signed by the CA) and a client
// certificate signed by the CA.
type testPKI struct {
	CA, OtherCA                 string // CA certificates
	Server, ServerKey           string // 127.0.0.1 (IP SAN) and localhost
	OtherName, OtherNameKey     string // other.example only
	Client, ClientKey           string // client certificate (CN kamailio)
	OtherClient, OtherClientKey string // client certificate signed by OtherCA
	caCert, otherCACert         *x509.Certificate
	caKey, otherCAKey           *ecdsa.PrivateKey
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	p := &testPKI{}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	serial := func() *big.Int {
		n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	now := time.Now()
	mkCA := func(name, file string) (*x509.Certificate, *ecdsa.PrivateKey, string) {
		key := newKey()
		tmpl := &x509.Certificate{
			SerialNumber:          serial(),
			Subject:               pkix.Name{CommonName: name, Organization: []string{"kazoo e2e"}},
			NotBefore:             now.Add(-time.Hour),
			NotAfter:              now.Add(24 * time.Hour),
			IsCA:                  true,
			BasicConstraintsValid: true,
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return cert, key, write(file, "CERTIFICATE", der)
	}
	mkLeaf := func(ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, dns []string, ips []net.IP,
		usage x509.ExtKeyUsage, file string) (string, string) {
		key := newKey()
		tmpl := &x509.Certificate{
			SerialNumber: serial(),
			Subject:      pkix.Name{CommonName: cn, Organization: []string{"kazoo e2e"}},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyAgreement,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			DNSNames:     dns,
			IPAddresses:  ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(key) // SEC1 "EC PRIVATE KEY": read by Erlang and Go
		if err != nil {
			t.Fatal(err)
		}
		return write(file+".pem", "CERTIFICATE", der), write(file+".key", "EC PRIVATE KEY", kder)
	}
	p.caCert, p.caKey, p.CA = mkCA("kazoo e2e CA", "ca.pem")
	p.otherCACert, p.otherCAKey, p.OtherCA = mkCA("unrelated CA", "other-ca.pem")
	p.Server, p.ServerKey = mkLeaf(p.caCert, p.caKey, "127.0.0.1", []string{"localhost"},
		[]net.IP{net.ParseIP("127.0.0.1")}, x509.ExtKeyUsageServerAuth, "server")
	p.OtherName, p.OtherNameKey = mkLeaf(p.caCert, p.caKey, "other.example", []string{"other.example"},
		nil, x509.ExtKeyUsageServerAuth, "other-name")
	p.Client, p.ClientKey = mkLeaf(p.caCert, p.caKey, "kamailio", nil, nil, x509.ExtKeyUsageClientAuth, "client")
	p.OtherClient, p.OtherClientKey = mkLeaf(p.otherCACert, p.otherCAKey, "stranger", nil, nil,
		x509.ExtKeyUsageClientAuth, "other-client")
	return p
}

// tlsParams renders the amqps_* modparams; empty strings and negative ints are left out.
func tlsParams(ca, cert, key string, verifyPeer, verifyHostname int) string {
	var b strings.Builder
	for _, s := range [][2]string{{"amqps_ca_cert", ca}, {"amqps_cert", cert}, {"amqps_key", key}} {
		if s[1] != "" {
			fmt.Fprintf(&b, "modparam(\"kazoo\", %q, %q)\n", s[0], s[1])
		}
	}
	if verifyPeer >= 0 {
		fmt.Fprintf(&b, "modparam(\"kazoo\", \"amqps_verify_peer\", %d)\n", verifyPeer)
	}
	if verifyHostname >= 0 {
		fmt.Fprintf(&b, "modparam(\"kazoo\", \"amqps_verify_hostname\", %d)\n", verifyHostname)
	}
	b.WriteString("modparam(\"kazoo\", \"amqp_connect_timeout_sec\", 2)\n")
	return b.String()
}

// checkNoPassword fails if a URL password shows up in a Kamailio log. secrets are further
// strings (passwords) that must not appear at all.
func checkNoPassword(t *testing.T, log string, secrets ...string) {
	t.Helper()
	for _, s := range append([]string{"guest:guest@"}, secrets...) {
		if strings.Contains(log, s) {
			for _, l := range strings.Split(log, "\n") {
				if strings.Contains(l, s) {
					t.Errorf("a password appears in the Kamailio log (%q): %s", s, l)
				}
			}
		}
	}
}

// startTLSPublisher starts a publishing Kamailio on url with params; once it is stopped
// (cleanup) its whole log is checked for passwords.
func startTLSPublisher(t *testing.T, r *harness.Rabbit, url, params string, secrets ...string) *harness.Kamailio {
	t.Helper()
	var k *harness.Kamailio
	// registered before StartKamailio's own cleanup: runs after Kamailio stopped
	t.Cleanup(func() {
		if k != nil {
			checkNoPassword(t, k.Log(), secrets...)
		}
	})
	// these tests are about what a failed or successful TLS connect reports; connecting at
	// start keeps a publish from waiting for its own process's first attempt (on demand,
	// the first publish of each worker waits up to the connect timeout for it)
	k = startPublisher(t, r, map[string]any{"URL": url, "Params": params + "\nmodparam(\"kazoo\", \"amqp_connect_at_start\", 1)"})
	return k
}

// expectPublishOK polls kazoo_publish until it returns 1 (the module connects in the
// background) and checks the delivery.
func expectPublishOK(t *testing.T, k *harness.Kamailio, q *harness.Queue, rk string) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(15 * time.Second)
	rc := ""
	for {
		if rc = publish(t, k, "kazoo_tls", rk, "", `{"Event-Category":"tls","Event-Name":"`+rk+`"}`); rc == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kazoo_publish still returns %q after %v\n--- kamailio log ---\n%s", rc, time.Since(start), k.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("kazoo_publish returned 1 after %v", time.Since(start).Round(time.Millisecond))
	d, ok := q.Next(t, 5*time.Second)
	if !ok {
		t.Fatalf("kazoo_publish returned 1 but no message arrived\n%s", k.Log())
	}
	if d.RoutingKey != rk || !strings.Contains(string(d.Body), `"Event-Name":"`+rk+`"`) {
		t.Fatalf("got routing key %q body %s", d.RoutingKey, d.Body)
	}
	if !strings.Contains(k.Log(), "connected to AMQP broker amqps://guest:***@") {
		t.Errorf("no masked 'connected to AMQP broker amqps://guest:***@...' line:\n%s", k.Log())
	}
}

var connectFailRE = regexp.MustCompile(`cannot connect to AMQP broker (amqps://[^ ]*) \(attempt (\d+), retrying\): (.*)`)

// expectPublishFails waits for the module's connect failure line, checks that its reason
// matches one of reasons and that the URL in it is masked, then that kazoo_publish returns
// -1, nothing is delivered and SIP is still answered. It returns the failure line.
func expectPublishFails(t *testing.T, k *harness.Kamailio, url string, q *harness.Queue, rk string, reasons ...string) string {
	t.Helper()
	if !k.WaitLog(t, "cannot connect to AMQP broker", 15*time.Second) {
		t.Fatalf("no 'cannot connect to AMQP broker' line within 15 s\n%s", k.Log())
	}
	// the line, complete
	var line []string
	waitFor(t, 2*time.Second, func() bool {
		line = connectFailRE.FindStringSubmatch(k.Log())
		return line != nil
	})
	if line == nil {
		t.Fatalf("the connect failure line does not have the expected form\n%s", k.Log())
	}
	if want := regexp.MustCompile(`:[^:@/]*@`).ReplaceAllString(url, ":***@"); line[1] != want {
		t.Errorf("URL in the failure line is %q, want %q", line[1], want)
	}
	matched := false
	for _, re := range reasons {
		if strings.Contains(line[3], re) {
			matched = true
		}
	}
	if !matched {
		t.Errorf("failure reason %q mentions none of %q", line[3], reasons)
	}
	t.Logf("module log: %s", strings.TrimSpace(line[0]))
	for i := 0; i < 3; i++ {
		start := time.Now()
		if rc := publish(t, k, "kazoo_tls", rk, "", `{"Event-Category":"tls","Event-Name":"`+rk+`"}`); rc != "-1" {
			t.Fatalf("kazoo_publish returned %q, want -1\n%s", rc, k.Log())
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("failing publish %d took %v", i, took)
		}
		if rep := sipRequest(t, k.SipPort(), "OPTIONS", "ping", nil, ""); rep.Code != 200 {
			t.Fatalf("OPTIONS got %d", rep.Code)
		}
	}
	if d, ok := q.Next(t, 500*time.Millisecond); ok {
		t.Fatalf("a message arrived although kazoo_publish failed: %q %s", d.RoutingKey, d.Body)
	}
	return line[0]
}

func waitFor(t *testing.T, timeout time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// checkBrokerTLS proves the node's TLS listener with a plain Go AMQP client first, so that
// a harness problem is not mistaken for a module bug.
func checkBrokerTLS(t *testing.T, r *harness.Rabbit, p *testPKI, withClientCert bool) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(p.caCert)
	tc := &tls.Config{RootCAs: roots}
	if withClientCert {
		c, err := tls.LoadX509KeyPair(p.Client, p.ClientKey)
		if err != nil {
			t.Fatal(err)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	// the chain only (one of the nodes has a certificate for another name)
	tc.InsecureSkipVerify = true
	tc.VerifyConnection = func(cs tls.ConnectionState) error {
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots})
		return err
	}
	c, err := amqp.DialConfig(r.TLSURL(), amqp.Config{TLSClientConfig: tc, Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		t.Fatalf("harness check: a Go client cannot connect to %s: %v\n--- rabbit log ---\n%s", r.TLSURL(), err, r.Log())
	}
	c.Close()
}

// The broker's certificate is checked against amqps_ca_cert (1), a certificate of an
// unknown CA is refused (2) unless amqps_verify_peer is 0 (3); a refused password is
// masked in the log (7).
func TestTLSServerCertificate(t *testing.T) {
	t.Parallel()
	p := newTestPKI(t)
	r := harness.StartRabbitTLS(t, harness.TLSFiles{CA: p.CA, Cert: p.Server, Key: p.ServerKey})
	checkBrokerTLS(t, r, p, false)
	q := r.Bind(t, "kazoo_tls", "topic", "tls.#")

	t.Run("right CA", func(t *testing.T) {
		k := startTLSPublisher(t, r, r.TLSURL(), tlsParams(p.CA, "", "", -1, -1))
		expectPublishOK(t, k, q, "tls.right_ca")
	})
	t.Run("right CA by localhost", func(t *testing.T) {
		url := strings.Replace(r.TLSURL(), "@127.0.0.1:", "@localhost:", 1)
		k := startTLSPublisher(t, r, url, tlsParams(p.CA, "", "", 1, 1))
		expectPublishOK(t, k, q, "tls.localhost")
	})
	t.Run("unknown CA", func(t *testing.T) {
		k := startTLSPublisher(t, r, r.TLSURL(), tlsParams(p.OtherCA, "", "", 1, 1))
		expectPublishFails(t, k, r.TLSURL(), q, "tls.unknown_ca", "unknown authority")
	})
	t.Run("unknown CA, verify_peer 0", func(t *testing.T) {
		k := startTLSPublisher(t, r, r.TLSURL(), tlsParams(p.OtherCA, "", "", 0, 1))
		expectPublishOK(t, k, q, "tls.verify_peer_0")
	})
	t.Run("system CAs", func(t *testing.T) {
		// no amqps_ca_cert: the system's CAs, which do not know the test CA
		k := startTLSPublisher(t, r, r.TLSURL(), tlsParams("", "", "", -1, -1))
		expectPublishFails(t, k, r.TLSURL(), q, "tls.system_ca", "unknown authority")
	})
	// Readable files that are not what they should be are not refused at startup (only
	// unreadable ones are): the connections fail, and the log names the parameter.
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// a CA file without certificates trusts nobody; a broken client certificate is left
	// out (this broker does not ask for one, so publishing works)
	for _, c := range []struct {
		name, params, want string
		fails              bool
	}{
		{"CA file without PEM", tlsParams(garbage, "", "", 1, 1), "amqps_ca_cert " + garbage + ": no PEM certificate in it", true},
		{"key of another certificate", tlsParams(p.CA, p.Client, p.ServerKey, 1, 1), "amqps_cert / amqps_key: tls: private key does not match public key", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := startTLSPublisher(t, r, r.TLSURL(), c.params)
			if c.fails {
				expectPublishFails(t, k, r.TLSURL(), q, "tls.invalid_file", "") // any reason
			}
			if !k.WaitLog(t, c.want, 5*time.Second) {
				t.Fatalf("log lacks %q\n%s", c.want, k.Log())
			}
		})
	}
	t.Run("refused password is masked", func(t *testing.T) {
		const pw = "Zq7-tls-Secret-w8"
		url := strings.Replace(r.TLSURL(), "guest:guest@", "guest:"+pw+"@", 1)
		k := startTLSPublisher(t, r, url, tlsParams(p.CA, "", "", 1, 1), pw)
		expectPublishFails(t, k, url, q, "tls.bad_password", "ACCESS_REFUSED", "username or password not allowed")
	})
}

// The broker's certificate names other.example: refused with amqps_verify_hostname 1,
// accepted with 0 as long as the chain is good (4).
func TestTLSHostname(t *testing.T) {
	t.Parallel()
	p := newTestPKI(t)
	r := harness.StartRabbitTLS(t, harness.TLSFiles{CA: p.CA, Cert: p.OtherName, Key: p.OtherNameKey})
	checkBrokerTLS(t, r, p, false)
	q := r.Bind(t, "kazoo_tls", "topic", "tls.#")

	t.Run("verify_hostname 1", func(t *testing.T) {
		k := startTLSPublisher(t, r, r.TLSURL(), tlsParams(p.CA, "", "", 1, 1))
		// Go's message for an IP address that the certificate does not name
		expectPublishFails(t, k, r.TLSURL(), q, "tls.hostname_1",
			"cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs")
	})
	t.Run("verify_hostname 1 by localhost", func(t *testing.T) {
		url := strings.Replace(r.TLSURL(), "@127.0.0.1:", "@localhost:", 1)
		k := startTLSPublisher(t, r, url, tlsParams(p.CA, "", "", -1, -1))
		expectPublishFails(t, k, url, q, "tls.hostname_1_localhost", "certificate is valid for other.example, not localhost")
	})
	t.Run("verify_hostname 0", func(t *testing.T) {
		k := startTLSPublisher(t, r, r.TLSURL(), tlsParams(p.CA, "", "", 1, 0))
		expectPublishOK(t, k, q, "tls.hostname_0")
	})
	t.Run("verify_hostname 0 still checks the chain", func(t *testing.T) {
		k := startTLSPublisher(t, r, r.TLSURL(), tlsParams(p.OtherCA, "", "", 1, 0))
		expectPublishFails(t, k, r.TLSURL(), q, "tls.hostname_0_bad_ca", "unknown authority")
	})
}

// clientCertRefused are the reasons a client sees when the broker refuses its certificate
// (or its lack of one). With TLS 1.3 the client's handshake is over before the broker
// checks the certificate: the client learns it from the broker's alert ("certificate
// required") or, when its AMQP header write or read loses the race against the broker
// closing, from a reset or an EOF.
var clientCertRefused = []string{"certificate required", "unknown certificate authority", "bad certificate",
	"handshake failure", "connection reset by peer", "broken pipe", "EOF"}

// The broker requires a client certificate: amqps_cert and amqps_key provide it (5).
func TestTLSClientCertificate(t *testing.T) {
	t.Parallel()
	p := newTestPKI(t)
	r := harness.StartRabbitTLS(t, harness.TLSFiles{CA: p.CA, Cert: p.Server, Key: p.ServerKey, VerifyClient: true})
	checkBrokerTLS(t, r, p, true)
	q := r.Bind(t, "kazoo_tls", "topic", "tls.#")

	t.Run("no client certificate", func(t *testing.T) {
		k := startTLSPublisher(t, r, r.TLSURL(), tlsParams(p.CA, "", "", 1, 1))
		expectPublishFails(t, k, r.TLSURL(), q, "tls.no_client_cert", clientCertRefused...)
	})
	t.Run("client certificate of another CA", func(t *testing.T) {
		k := startTLSPublisher(t, r, r.TLSURL(), tlsParams(p.CA, p.OtherClient, p.OtherClientKey, 1, 1))
		// Go's client sends no certificate when none matches the CAs the server asks for
		expectPublishFails(t, k, r.TLSURL(), q, "tls.other_client_cert", clientCertRefused...)
	})
	t.Run("client certificate", func(t *testing.T) {
		k := startTLSPublisher(t, r, r.TLSURL(), tlsParams(p.CA, p.Client, p.ClientKey, 1, 1))
		expectPublishOK(t, k, q, "tls.client_cert")
	})
}

// Unreadable amqps_* files refuse the start with one line naming the parameter (6).
func TestTLSBadFiles(t *testing.T) {
	t.Parallel()
	p := newTestPKI(t)
	missing := filepath.Join(t.TempDir(), "no-such-ca.pem")
	// no broker is needed: the start fails before any connection
	url := "amqps://guest:Refused-Pw-6@127.0.0.1:" + strconv.Itoa(harness.FreePort(t)) + "/"
	for _, c := range []struct{ name, params, want, param string }{
		{"missing CA file", tlsParams(missing, "", "", -1, -1),
			"amqps_ca_cert: cannot read '" + missing + "'", "amqps_ca_cert"},
		{"missing client certificate", tlsParams(p.CA, missing, p.ClientKey, -1, -1),
			"amqps_cert: cannot read '" + missing + "'", "amqps_cert"},
		{"missing client key", tlsParams(p.CA, p.Client, missing, -1, -1),
			"amqps_key: cannot read '" + missing + "'", "amqps_key"},
		{"certificate without key", tlsParams(p.CA, p.Client, "", -1, -1),
			"amqps_cert and amqps_key go together", "amqps_key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			log := harness.StartKamailioExpectFailure(t, publishCfg, harness.KamailioOpts{Module: modulePath,
				Extra: withDefaults(nil, map[string]any{"URL": url, "Params": c.params})})
			if !strings.Contains(log, c.want) {
				t.Fatalf("log lacks %q:\n%s", c.want, log)
			}
			n := 0
			for _, l := range strings.Split(log, "\n") {
				if strings.Contains(l, c.param) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d log lines name %s, want 1:\n%s", n, c.param, log)
			}
			for _, l := range strings.Split(log, "\n") {
				if strings.Contains(l, c.want) {
					t.Logf("refusal: %s", strings.TrimSpace(l))
				}
			}
			checkNoPassword(t, log, "Refused-Pw-6")
		})
	}
}
