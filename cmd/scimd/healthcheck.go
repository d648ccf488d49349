package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// runHealthcheck is "scimd healthcheck": it asks the server on this machine
// for /healthz (or /readyz with -ready) and exits 0 when it answers 200, 1
// otherwise. It exists for container HEALTHCHECKs: the image has no shell or
// curl. The address comes from -url, else from SCIMD_ADDR (an unspecified
// host such as 0.0.0.0 means loopback) with https when SCIMD_TLS_CERT is set;
// the certificate of a loopback check is not verified (it names the public host).
func runHealthcheck(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("scimd healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("url", "", "base URL of the server (default: from SCIMD_ADDR and SCIMD_TLS_CERT)")
	ready := fs.Bool("ready", false, "check /readyz (the store is reachable) instead of /healthz")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	base := *target
	if base == "" {
		addr := getenv("SCIMD_ADDR")
		if addr == "" {
			addr = "127.0.0.1:8080"
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			fmt.Fprintf(stderr, "scimd: healthcheck: invalid SCIMD_ADDR %q\n", addr)
			return exitUsage
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		scheme := "http"
		if getenv("SCIMD_TLS_CERT") != "" {
			scheme = "https"
		}
		base = scheme + "://" + net.JoinHostPort(host, port)
	}
	path := "/healthz"
	if *ready {
		path = "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		fmt.Fprintf(stderr, "scimd: healthcheck: %v\n", err)
		return exitUsage
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: *target == ""}} // loopback only, see above
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "scimd: healthcheck: %v\n", err)
		return exitFailure
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "scimd: healthcheck: %s answered %s\n", base+path, resp.Status)
		return exitFailure
	}
	return exitOK
}
