package mongo

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestOpenUnreachable(t *testing.T) {
	start := time.Now()
	_, err := OpenOptions(context.Background(), "mongodb://127.0.0.1:1/", "x", Options{ServerSelectionTimeout: 300 * time.Millisecond})
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if !strings.HasPrefix(err.Error(), "mongo: connect mongodb://127.0.0.1:1/: ") {
		t.Errorf("error %q does not say what failed", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Open took %v to fail", d)
	}
}
