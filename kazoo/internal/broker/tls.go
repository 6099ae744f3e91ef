package broker

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

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
