package pii

import (
	"bytes"
	"errors"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestSealOpen(t *testing.T) {
	p, err := New(key(1))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte(`{"name":"Ada Example","nhsNumber":"9434765919"}`)
	a, b := p.Seal(secret, "referral:1"), p.Seal(secret, "referral:1")
	if bytes.Equal(a, b) {
		t.Error("two seals of the same data are equal: nonce reused")
	}
	if bytes.Contains(a, []byte("Ada")) {
		t.Error("sealed value contains the plaintext")
	}
	got, err := p.Open(a, "referral:1")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := p.Open(a, "referral:2"); !errors.Is(err, ErrTampered) {
		t.Errorf("opened under another record: %v", err)
	}
	other, _ := New(key(2))
	if _, err := other.Open(a, "referral:1"); !errors.Is(err, ErrTampered) {
		t.Errorf("opened with another tenant's key: %v", err)
	}
	a[len(a)-1] ^= 1
	if _, err := p.Open(a, "referral:1"); !errors.Is(err, ErrTampered) {
		t.Errorf("opened a changed value: %v", err)
	}
	if _, err := p.Open([]byte("short"), "referral:1"); !errors.Is(err, ErrTampered) {
		t.Errorf("opened a truncated value: %v", err)
	}
}

func TestIndex(t *testing.T) {
	p, _ := New(key(1))
	other, _ := New(key(2))
	first, again := p.Index("nhs", "9434765919"), p.Index("nhs", "9434765919")
	if first != again {
		t.Error("index is not stable")
	}
	if p.Index("nhs", "9434765919") == other.Index("nhs", "9434765919") {
		t.Error("two tenants' keys give the same index")
	}
	if p.Index("nhs", "9434765919") == p.Index("other", "9434765919") {
		t.Error("purposes share an index")
	}
	if _, err := New([]byte("short")); err == nil {
		t.Error("short key accepted")
	}
}
