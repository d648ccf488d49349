package embedded

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/storagetest"
)

// encodeEventJSON is the record of e as events were written before the
// binary codec (JSON of eventRec).
func encodeEventJSON(e *schemas.Event) ([]byte, error) {
	r := &eventRec{ID: e.ID, T: utc(e.Time), A: e.ActorID, AT: e.ActorType, Ac: e.Action, Tg: e.TargetID,
		TT: e.TargetType, IP: e.IP, UA: e.UserAgent}
	if len(e.Changes) > 0 {
		r.Ch = make(map[string]changeRec, len(e.Changes))
		for k, c := range e.Changes {
			r.Ch[k] = changeRec{P: c.Prev, C: c.Current}
		}
	}
	return json.Marshal(r)
}

// codecEvents are events whose changes hold every kind of value the
// directory records: a create's whole audit view (nested objects, arrays,
// numbers, booleans), Go values that are not JSON's (a []string, an int, a
// time), a removal and a first setting (one side nil), ids in and out of
// the canonical UUID form, dictionary and other strings.
func codecEvents() []*schemas.Event {
	u := storagetest.NewUser(4242)
	u.ID = "01936f2a-7c1e-7d3a-9b2c-1a2b3c4d5e6f"
	create := map[string]schemas.Change{}
	schemas.AuditDiff(nil, u, func(k string, _, v any) { create[k] = schemas.Change{Current: v} })
	return []*schemas.Event{
		{ID: "01936f2a-7c1e-7d3a-9b2c-aaaaaaaaaaaa", Time: time.Date(2026, 11, 30, 3, 4, 5, 678, time.UTC), ActorID: "client-1",
			ActorType: "app", Action: "createUser", TargetID: u.ID, TargetType: "user", IP: "192.0.2.7",
			UserAgent: "Okta SCIM Client 1.0.0", Changes: create},
		{ID: "01936F2A-7C1E-7D3A-9B2C-AAAAAAAAAAAB", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)),
			Action: "adminUpdateUser", TargetID: "u00000001", TargetType: "user", Changes: map[string]schemas.Change{
				"title":       {Prev: "Engineer", Current: "Manager"},
				"nickName":    {Prev: "Bob"},
				"displayName": {Current: "Robert"},
				"roles":       {Current: []string{"a", "b"}},
				"score":       {Prev: 41, Current: json.Number("42.50")},
				"when":        {Current: time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)},
				"active":      {Prev: false, Current: true},
				"customData":  {Current: map[string]any{"": nil, "deep": map[string]any{"x": []any{1.5, "y", nil, true}}, "ü": "ß"}},
				"password":    {Prev: "[redacted]", Current: "[redacted]"},
			}},
		{ID: "e3", Action: "userFailedLogin"},
	}
}

// The binary record decodes to exactly what the JSON record of the same
// event decoded to: same fields, same value types (json.Number, []any,
// map[string]any, strings for times), nil for an absent side.
func TestEventCodecMatchesJSON(t *testing.T) {
	for _, e := range codecEvents() {
		bin, err := encodeEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		js, err := encodeEventJSON(e)
		if err != nil {
			t.Fatal(err)
		}
		key := eventKey(e.Time, e.ID)
		want, err := decodeEvent(key, js)
		if err != nil {
			t.Fatal(err)
		}
		// The record of the first binary form (id and time in the record too).
		w := &wbuf{}
		w.byte(eventCodecV1)
		w.dstr(e.ID)
		w.time(utc(e.Time))
		v1 := append(w.b, bin[1:]...)
		for _, rec := range [][]byte{bin, v1} {
			got, err := decodeEvent(key, rec)
			if err != nil {
				t.Fatalf("event %s: %v", e.ID, err)
			}
			if !reflect.DeepEqual(got, want) {
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(want)
				t.Fatalf("event %s (record form %x):\nbinary %s\nJSON   %s", e.ID, rec[0], gj, wj)
			}
		}
		h, err := decodeEventHead(key, bin)
		if err != nil || h.ID != e.ID || h.Ac != e.Action || h.Tg != e.TargetID || !h.T.Equal(utc(e.Time)) {
			t.Fatalf("head of %s: %+v, %v", e.ID, h, err)
		}
		if e.Changes != nil && len(bin) >= len(js)*7/10 {
			t.Errorf("event %s: binary record %d bytes, JSON %d: want under 70%%", e.ID, len(bin), len(js))
		}
		t.Logf("event %s: binary %d bytes, JSON %d", e.ID, len(bin), len(js))
	}
}

// A binary record cut short or with bytes appended is reported, not
// decoded into something else; readEvent then returns its head as Damaged.
func TestEventCodecDamaged(t *testing.T) {
	e := codecEvents()[0]
	bin, err := encodeEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{bin[:len(bin)-3], append(append([]byte{}, bin...), 0), bin[:5]} {
		if _, err := decodeEvent(eventKey(e.Time, e.ID), bad); err == nil {
			t.Fatalf("a damaged record of %d bytes decoded", len(bad))
		}
		got := readEvent(eventKey(e.Time, e.ID), bad)
		if got.Damaged == "" || got.ID != e.ID || !strings.Contains(got.Damaged, "could not be decoded") {
			t.Fatalf("readEvent of a damaged record: %+v", got)
		}
	}
	if len(eventDict) != len(eventDictIndex) {
		t.Fatal("eventDict holds a string twice")
	}
}

// TestIxEntry checks the event index key against its definition, the kind
// then pairKey(ixID(id), the event key's time and ixID(event id)), for UUID
// and other ids on both sides, and that entryEventKey gives the event key
// back.
func TestIxEntry(t *testing.T) {
	at := time.Date(2026, 11, 30, 6, 0, 0, 123, time.UTC)
	for _, id := range []string{"0b6f1c52-1f4c-4c55-9a2e-3f1d2b4a5c6d", "admin", "", strings.Repeat("x", 300)} {
		for _, ev := range []string{"5d0f6a2e-8b1c-4e3a-9f2d-1c2b3a4d5e6f", "legacy-event-id"} {
			key := eventKey(at, ev)
			want := append([]byte{ixActor}, pairKey(ixID(id), string(key[:12])+ixID(ev))...)
			got := appendIxEntry(nil, ixActor, id, key)
			if string(got) != string(want) {
				t.Errorf("appendIxEntry(%q, %q) = %x, want %x", id, ev, got, want)
			}
			back, ok := entryEventKey(got[len(ixPrefix(ixActor, id)):])
			if !ok || string(back) != string(key) {
				t.Errorf("entryEventKey of appendIxEntry(%q, %q) = %q, %v; want %q", id, ev, back, ok, key)
			}
		}
	}
}
