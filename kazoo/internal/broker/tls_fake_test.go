package broker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker/amqpfake"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/klog"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// selfSigned is a server certificate for host and a client config that trusts it.
func selfSigned(t *testing.T, host string) (server, client *tls.Config) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
}

// amqps:// through the seam: the module's own TLS runs above Options.Dial and the frame
// limiter above TLS, so an oversized reply is dropped from the decrypted stream.
func TestFakeTLSWithFrameLimit(t *testing.T) {
	srv := amqpfake.NewServer()
	serverTLS, clientTLS := selfSigned(t, "fake")
	srv.SetTLS(serverTLS)
	f := newFixture(t, srv.Dial)
	f.opt.TLS, f.opt.MaxBody = clientTLS, 1000
	c := NewConn(broker(t, "amqps://guest:guest@fake:5671/", 1), f.opt, klog.NewWriter(f.log, klog.Debug), newReplyRouter())
	t.Cleanup(c.Close)
	t.Cleanup(srv.Close)
	if ch := f.next(); !ch.open {
		t.Fatalf("amqps connect: %+v", ch)
	}
	srv.OnPublish(responder(srv, c, `,"Pad":"`+strings.Repeat("x", 5000)+`"`))
	_, err := c.Query(request("k"), "big", deadline())
	wantCode(t, err, status.Rejected, "larger than amqp_max_payload (1000)")
	srv.OnPublish(responder(srv, c, ""))
	if _, err := c.Query(request("k"), "small", deadline()); err != nil {
		t.Fatal(err)
	}
}

// A server certificate for another name is refused, and the reason says so.
func TestFakeTLSWrongHost(t *testing.T) {
	srv := amqpfake.NewServer()
	serverTLS, clientTLS := selfSigned(t, "elsewhere")
	srv.SetTLS(serverTLS)
	f := newFixture(t, srv.Dial)
	f.opt.TLS = clientTLS
	c := NewConn(broker(t, "amqps://guest:guest@fake:5671/", 1), f.opt, klog.NewWriter(f.log, klog.Debug), newReplyRouter())
	t.Cleanup(c.Close)
	t.Cleanup(srv.Close)
	if ch := f.next(); ch.open || !strings.Contains(ch.reason, "certificate is valid for elsewhere, not fake") {
		t.Fatalf("change %+v", ch)
	}
}
