package storage

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/native"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/mongo"
	"github.com/scimd/scimd/test/ferret"
)

// TestMongoServerGone stops the database server under a running store: every
// operation fails with storage.ErrUnavailable (not a bare error a face would
// answer with 500), Ping fails, and both faces answer 503 with Retry-After,
// which an identity provider retries later.
func TestMongoServerGone(t *testing.T) {
	uri, stop := ferret.StartStoppable(t)
	ctx := t.Context()
	s, err := mongo.Open(ctx, uri+"?serverSelectionTimeoutMS=300", randomDB())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := directory.New(s, directory.Options{Logger: log})
	_, token, err := svc.CreateAPIToken(ctx, directory.System, "okta", "", []directory.Scope{directory.ScopeAdmin}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := svc.CreateUser(ctx, directory.System, &schemas.User{UserName: "ann"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	native.New(svc, native.Options{PublicURL: srv.URL, Logger: log}).Register(mux)
	scim.New(svc, scim.Options{PublicURL: srv.URL, Logger: log}).Register(mux)

	stop()

	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	_, err = s.GetUser(c, u.ID)
	unavailable := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("%s with the server gone: %v, want ErrUnavailable", what, err)
		}
	}
	unavailable("GetUser", err)
	_, err = s.UpdateUser(c, u.ID, 0, func(u *schemas.User) error { u.Title = "x"; return nil }, nil)
	unavailable("UpdateUser", err)
	unavailable("DeleteUser", s.DeleteUser(c, u.ID, &schemas.Event{ID: "e1", Time: time.Now()}))
	if err := s.Ping(c); err == nil {
		t.Error("Ping with the server gone succeeded")
	}

	for _, r := range []struct{ method, path string }{
		{"GET", "/cis/v1/users/" + u.ID},
		{"DELETE", "/cis/v1/manage/users/" + u.ID},
		{"GET", "/scim/v2/Users/" + u.ID},
		{"DELETE", "/scim/v2/Users/" + u.ID},
	} {
		req, _ := http.NewRequestWithContext(c, r.method, srv.URL+r.path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s with the database gone: %d, Retry-After %q: %s; want 503 with Retry-After",
				r.method, r.path, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
}
