package main

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInFlightRequestFinishesOnSIGTERM sends a token request whose body is
// still arriving when SIGTERM comes: the server must wait for it, answer it, and
// then exit 0.
func TestInFlightRequestFinishesOnSIGTERM(t *testing.T) {
	// The metrics listener's goroutine dump shows when the handler is reading.
	p := start(t, append([]string{"SCIMD_DATA_DIR=" + t.TempDir(), "SCIMD_METRICS_ADDR=127.0.0.1:0"}, opsEnv...))
	maddr := strings.TrimPrefix(p.waitLog(t, `msg="metrics listening" addr=\S+`), `msg="metrics listening" addr=`)
	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := "grant_type=client_credentials&client_id=ops&client_secret=ops-secret-123"
	head := "POST /oidc/token HTTP/1.1\r\nHost: " + p.addr + "\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	if _, err := conn.Write([]byte(head + body[:10])); err != nil {
		t.Fatal(err)
	}
	// SIGTERM only once a handler is blocked reading the body: sent earlier,
	// it could close the listener before the connection is even accepted.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, stacks := get(t, "http://"+maddr+"/debug/pprof/goroutine?debug=2"); strings.Contains(stacks, "net/http.(*body).Read") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no handler started reading the token request's body")
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, "msg=\"shutting down\"")
	select {
	case <-p.done:
		t.Fatalf("scimd exited with a request in flight:\n%s", p.log())
	default:
	}
	if _, err := conn.Write([]byte(body[10:])); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response to the in-flight request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("in-flight token request answered %d", resp.StatusCode)
	}
	<-p.done
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit after draining: %v\n%s", err, p.log())
	}
	if !strings.Contains(p.log(), "msg=stopped") {
		t.Fatalf("no clean stop:\n%s", p.log())
	}
}
