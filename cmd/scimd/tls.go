package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certCheckInterval is how often, at most, the certificate files are re-read:
// on the first TLS handshake after it has passed.
const certCheckInterval = time.Second

// certReloader serves the certificate of a PEM certificate and key file pair
// and picks up a renewal (both files replaced) without a restart. A pair that
// does not load (one file replaced, not yet the other; a broken file) leaves
// the previous certificate in service and is logged once.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu            sync.Mutex
	cert          *tls.Certificate
	certPEM       []byte
	keyPEM        []byte
	checked       time.Time
	lastErrorPair string // the pair whose failure was logged last
}

// newCertReloader loads the pair; a pair that does not load is an error.
func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	c := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

// load reads both files and, when they changed, replaces the certificate.
func (c *certReloader) load() error {
	certPEM, err := os.ReadFile(c.certFile)
	if err != nil {
		return fmt.Errorf("read -tls-cert: %w", err)
	}
	keyPEM, err := os.ReadFile(c.keyFile)
	if err != nil {
		return fmt.Errorf("read -tls-key: %w", err)
	}
	if c.cert != nil && bytes.Equal(certPEM, c.certPEM) && bytes.Equal(keyPEM, c.keyPEM) {
		return nil
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("load TLS certificate %s with key %s: %w", c.certFile, c.keyFile, err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return fmt.Errorf("parse TLS certificate %s: %w", c.certFile, err)
	}
	cert.Leaf = leaf
	c.cert, c.certPEM, c.keyPEM = &cert, certPEM, keyPEM
	c.log.Info("TLS certificate loaded", "file", c.certFile, "subject", leaf.Subject.String(),
		"dns_names", leaf.DNSNames, "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	return nil
}

// GetCertificate is tls.Config.GetCertificate: the current certificate,
// re-read from the files at most every certCheckInterval.
func (c *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.checked) >= certCheckInterval {
		c.checked = now
		if err := c.load(); err != nil {
			if pair := err.Error(); pair != c.lastErrorPair {
				c.lastErrorPair = pair
				c.log.Error("TLS certificate not reloaded; the previous one stays in service", "err", err)
			}
		} else {
			c.lastErrorPair = ""
		}
	}
	return c.cert, nil
}

// tlsConfig is the server's TLS configuration: TLS 1.2 and later with Go's
// default cipher suites and curves, the certificate from c.
func tlsConfig(c *certReloader) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.GetCertificate}
}
