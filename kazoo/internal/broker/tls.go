package broker

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/config"
)

// TLSConfig builds the client side of amqps:// connections from the amqps_* parameters:
// the CA file (else the system's CAs), an optional client certificate and key, and peer
// and host name verification (both on unless turned off). The config is usable even with
// an error: a CA file without certificates trusts nobody (never other CAs than the ones
// configured), a broken client certificate is left out (a broker that wants one refuses).
func TLSConfig(t config.TLS) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	var errs []error
	if t.CAFile != "" {
		c.RootCAs = x509.NewCertPool()
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("amqps_ca_cert: %v", err))
		} else if !c.RootCAs.AppendCertsFromPEM(pem) {
			errs = append(errs, fmt.Errorf("amqps_ca_cert %s: no PEM certificate in it", t.CAFile))
		}
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("amqps_cert / amqps_key: %v", err))
		} else {
			c.Certificates = []tls.Certificate{cert}
		}
	}
	switch {
	case !t.VerifyPeer:
		c.InsecureSkipVerify = true
	case !t.VerifyHostname:
		// verify the chain against the CAs, not the name (crypto/tls offers both or neither)
		c.InsecureSkipVerify = true
		roots := c.RootCAs
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("the broker sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, ic := range cs.PeerCertificates[1:] {
				inter.AddCert(ic)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
			return err
		}
	}
	return c, errors.Join(errs...)
}

// dialTLS opens an amqps:// connection up to the end of the TLS handshake, which runs under
// the connect deadline dial set. The broker's host name is the server name unless the
// configuration sets one (what amqp091 does when it runs TLS itself).
func dialTLS(dial func(network, addr string) (net.Conn, error), uri amqp.URI, base *tls.Config) (net.Conn, error) {
	conn, err := dial("tcp", net.JoinHostPort(uri.Host, strconv.Itoa(uri.Port)))
	if err != nil {
		return nil, err
	}
	var cfg *tls.Config
	if base != nil {
		cfg = base.Clone()
	} else {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = uri.Host
	}
	client := tls.Client(conn, cfg)
	if err := client.Handshake(); err != nil {
		conn.Close()
		return nil, err
	}
	return client, nil
}

// plaintextScheme is an amqps:// URL as amqp://, for amqp091 once dialTLS did the TLS part
// (the port was resolved from the original URL, so amqp://'s default port does not matter).
func plaintextScheme(url string) string {
	if i := strings.Index(url, "://"); i >= 0 {
		return "amqp" + url[i:]
	}
	return url
}
