package events

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/services/kit/calendar"
)

func TestEveryPayloadHasItsOwnType(t *testing.T) {
	seen := map[Type]bool{}
	for _, p := range All() {
		if seen[p.EventType()] {
			t.Errorf("two payloads are %s", p.EventType())
		}
		seen[p.EventType()] = true
	}
	if len(seen) != 31 {
		t.Errorf("%d event types, want the 31 the services write", len(seen))
	}
}

func TestAnEventReadsBackAsWritten(t *testing.T) {
	at := time.Date(2026, 11, 30, 9, 15, 0, 123, time.UTC)
	nights := 3
	in := UnitStatusChanged{Unit: Unit{UnitID: "U1", Scheme: "Home from Home", Type: "flat", Bedrooms: 1, CreatedOn: calendar.Date{Year: 2026, Month: 1, Day: 5}},
		From: "void", To: "available", On: calendar.Date{Year: 2026, Month: 11, Day: 30}, VoidNights: &nights}
	fields, err := Event{Subject: "unit:U1", At: at, Payload: in}.Fields()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]any{}
	for i := 0; i < len(fields); i += 2 {
		values[fields[i]] = fields[i+1]
	}
	e := Parse("1-0", values)
	if e.Type != TypeUnitStatusChanged || e.Version != Version || e.Subject != "unit:U1" || !e.At.Equal(at) {
		t.Fatalf("entry %+v", e)
	}
	var out UnitStatusChanged
	if err := e.Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.UnitID != "U1" || out.Scheme != "Home from Home" || out.VoidNights == nil || *out.VoidNights != 3 || out.On != in.On {
		t.Errorf("read back %+v", out)
	}
	// The JSON names are the stream's contract: readers of entries written before this package keep
	// reading them.
	var raw map[string]any
	if err := json.Unmarshal(e.Data, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"unitId", "scheme", "type", "bedrooms", "createdOn", "from", "to", "reason", "on", "voidNights"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("data has no %q: %s", k, e.Data)
		}
	}
}

func TestDecodeRefusesAnotherTypesPayloadAndAnEmptyOne(t *testing.T) {
	e := Entry{ID: "1-0", Type: TypeReferralReceived, Version: Version, Data: json.RawMessage(`{}`)}
	if err := e.Decode(&ReferralDischarged{}); err == nil {
		t.Error("a received event decoded as a discharge")
	}
	e.Data = nil
	if err := e.Decode(&ReferralReceived{}); err == nil {
		t.Error("an event without data decoded")
	}
}

func TestAnEntryWithoutAVersionIsVersionOne(t *testing.T) {
	if e := Parse("1-0", map[string]any{"type": "referral.received"}); e.Version != "1" {
		t.Errorf("version %q", e.Version)
	}
	if e := Parse("1-0", map[string]any{"type": "referral.received", "v": "2"}); e.Version != "2" {
		t.Errorf("version %q", e.Version)
	}
}

func TestClosedReferralStatuses(t *testing.T) {
	for status, open := range map[string]bool{"received": true, "follow-up": true, "closed": false, "declined": false, "withdrawn": false} {
		if ReferralOpen(status) != open || (ReferralFacts{Status: status}).Open() != open {
			t.Errorf("%s open = %v, want %v", status, !open, open)
		}
	}
}
