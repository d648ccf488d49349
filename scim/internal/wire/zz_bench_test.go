package wire

import (
	"testing"

	"github.com/scimd/scimd/storage/storagetest"
)

func BenchmarkZZAppendSCIMUser(b *testing.B) {
	u := storagetest.NewUser(7)
	u.ID = "01a22ae4-a731-7000-b498-0406307ff38c"
	u.Version = 1
	o := SCIMOptions{BaseURL: "http://127.0.0.1:28480/scim/v2"}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendSCIMUser(buf[:0], u, o)
	}
	b.Log(string(buf))
}
