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
	p := start(t, append([]string{"SCIMD_DATA_DIR=" + t.TempDir()}, opsEnv...))
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
	time.Sleep(200 * time.Millisecond) // the handler is now reading the body
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
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
