// Package events is the contract of a tenant's domain-event stream: the type of every event the
// services write, the payload each one carries, how an event is laid out in the stream, and the facts
// of a referral that the housing service reads. Writers and readers both use it, so a renamed field or
// type fails to compile (or, for the JSON names, fails this package's tests) instead of silently
// miscounting a report.
//
// No payload carries a name, date of birth, NHS number, address, phone or free text.
package events

import (
	"encoding/json"
	"fmt"
	"time"
)

// Type names an event.
type Type string

// Version is the payload version the services write. An entry without one was written before
// versions were recorded and is version 1; readers skip (and log) versions they do not know.
const Version = "1"

// Payload is an event's data; its Go type fixes its event type.
type Payload interface {
	EventType() Type
}

// Event is an event to append: its payload, when it happened, and the records it is about.
type Event struct {
	// Subject is "<kind>:<id>" of the record the event is about (empty for referral events, whose
	// subject is Referral).
	Subject string
	// Referral is the referral the event belongs to, when it belongs to one.
	Referral string
	At       time.Time
	Payload  Payload
}

// Stream entry field names.
const (
	FieldType     = "type"
	FieldVersion  = "v"
	FieldSubject  = "subject"
	FieldReferral = "referral"
	FieldAt       = "at"
	FieldData     = "data"
)

// Fields lays the event out as the stream entry's field-value pairs.
func (e Event) Fields() ([]string, error) {
	if e.Payload == nil {
		return nil, fmt.Errorf("event without a payload")
	}
	data, err := json.Marshal(e.Payload)
	if err != nil {
		return nil, fmt.Errorf("encode %s event: %w", e.Payload.EventType(), err)
	}
	fields := []string{FieldType, string(e.Payload.EventType()), FieldVersion, Version}
	if e.Subject != "" {
		fields = append(fields, FieldSubject, e.Subject)
	}
	return append(fields, FieldReferral, e.Referral, FieldAt, e.At.UTC().Format(time.RFC3339Nano), FieldData, string(data)), nil
}

// Entry is an event as read back from the stream.
type Entry struct {
	ID       string
	Type     Type
	Version  string
	Subject  string
	Referral string
	At       time.Time
	Data     json.RawMessage
}

// Parse reads a stream entry's fields. A missing version is version 1; a malformed time is left zero
// for the reader to refuse if it needs one.
func Parse(id string, values map[string]any) Entry {
	e := Entry{ID: id, Version: "1"}
	str := func(k string) string {
		s, _ := values[k].(string)
		return s
	}
	e.Type, e.Subject, e.Referral = Type(str(FieldType)), str(FieldSubject), str(FieldReferral)
	if v := str(FieldVersion); v != "" {
		e.Version = v
	}
	if at, err := time.Parse(time.RFC3339Nano, str(FieldAt)); err == nil {
		e.At = at
	}
	if d := str(FieldData); d != "" {
		e.Data = json.RawMessage(d)
	}
	return e
}

// Decode reads the entry's data into p, which must be the payload of the entry's type.
func (e Entry) Decode(p Payload) error {
	if p.EventType() != e.Type {
		return fmt.Errorf("event %s is %s, not %s", e.ID, e.Type, p.EventType())
	}
	if len(e.Data) == 0 {
		return fmt.Errorf("event %s (%s) has no data", e.ID, e.Type)
	}
	if err := json.Unmarshal(e.Data, p); err != nil {
		return fmt.Errorf("event %s (%s): %w", e.ID, e.Type, err)
	}
	return nil
}
