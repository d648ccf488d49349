package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// certCheckInterval is how often, at most, the certificate files are re-read:
// on the first TLS handshake after it has passed.
const certCheckInterval = time.Second

// certReloader serves the certificate of a PEM certificate and key file pair
// and picks up a renewal (both files replaced) without a restart. A pair that
// does not load (one file replaced, not yet the other; a broken file) leaves
// the previous certificate in service and is logged once. The files are read
// and parsed outside any lock: a handshake never waits for the disk, only the
// one that finds the check due reads them.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	cur atomic.Pointer[loadedCert] // the certificate in service

	mu            sync.Mutex // guards checked and lastErrorPair
	checked       time.Time
	lastErrorPair string // the pair whose failure was logged last
}

// loadedCert is a certificate and the PEM files it was parsed from.
type loadedCert struct {
	cert            *tls.Certificate
	certPEM, keyPEM []byte
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
	if old := c.cur.Load(); old != nil && bytes.Equal(certPEM, old.certPEM) && bytes.Equal(keyPEM, old.keyPEM) {
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
	c.cur.Store(&loadedCert{cert: &cert, certPEM: certPEM, keyPEM: keyPEM})
	c.log.Info("TLS certificate loaded", "file", c.certFile, "subject", leaf.Subject.String(),
		"dns_names", leaf.DNSNames, "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	return nil
}

// GetCertificate is tls.Config.GetCertificate: the current certificate,
// re-read from the files at most every certCheckInterval.
func (c *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c.due() {
		err := c.load()
		c.mu.Lock()
		if err == nil {
			c.lastErrorPair = ""
		} else if pair := err.Error(); pair != c.lastErrorPair {
			c.lastErrorPair = pair
			c.log.Error("TLS certificate not reloaded; the previous one stays in service", "err", err)
		}
		c.mu.Unlock()
	}
	return c.cur.Load().cert, nil
}

// due reports whether the files are to be read now, and if so marks them
// checked: one handshake per certCheckInterval reads them.
func (c *certReloader) due() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if now.Sub(c.checked) < certCheckInterval {
		return false
	}
	c.checked = now
	return true
}

// tlsConfig is the server's TLS configuration: TLS 1.2 and later with Go's
// default cipher suites and curves, the certificate from c.
func tlsConfig(c *certReloader) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.GetCertificate}
}
