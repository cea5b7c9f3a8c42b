// Package pii protects personal data at rest: AES-256-GCM sealing bound to the record it belongs
// to, and keyed hashes for looking a person up without storing the identifier in clear.
package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"sync"
)

// KeySize is the size of a tenant's personal-data key.
const KeySize = 32

// ErrTampered is returned when a sealed value fails authentication: wrong key, wrong record, or
// changed bytes.
var ErrTampered = errors.New("personal data failed authentication")

// Protector seals personal data and computes lookup hashes with keys derived from one tenant key,
// so the encryption key and the index key are never the same bytes.
type Protector struct {
	aead    cipher.AEAD
	macPool sync.Pool
}

// New derives the sealing and index keys from the tenant's 32-byte key.
func New(tenantKey []byte) (*Protector, error) {
	if len(tenantKey) != KeySize {
		return nil, fmt.Errorf("personal-data key is %d bytes, want %d", len(tenantKey), KeySize)
	}
	sealKey, err := hkdf.Key(sha256.New, tenantKey, nil, "homeward pii seal v1", KeySize)
	if err != nil {
		return nil, fmt.Errorf("derive sealing key: %w", err)
	}
	indexKey, err := hkdf.Key(sha256.New, tenantKey, nil, "homeward pii index v1", KeySize)
	if err != nil {
		return nil, fmt.Errorf("derive index key: %w", err)
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	p := &Protector{aead: aead}
	p.macPool.New = func() any { return hmac.New(sha256.New, indexKey) }
	return p, nil
}

// Seal encrypts plaintext with a fresh nonce. context names the record the data belongs to
// (authenticated, not stored), so a sealed value moved to another record does not open.
func (p *Protector) Seal(plaintext []byte, context string) []byte {
	nonce := make([]byte, p.aead.NonceSize(), p.aead.NonceSize()+len(plaintext)+p.aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails on Linux
	return p.aead.Seal(nonce, nonce, plaintext, []byte(context))
}

// Open decrypts what Seal produced for the same context.
func (p *Protector) Open(sealed []byte, context string) ([]byte, error) {
	n := p.aead.NonceSize()
	if len(sealed) < n+p.aead.Overhead() {
		return nil, ErrTampered
	}
	out, err := p.aead.Open(nil, sealed[:n], sealed[n:], []byte(context))
	if err != nil {
		return nil, ErrTampered
	}
	return out, nil
}

// Index is the keyed hash of an identifier (an NHS number) under a purpose, hex encoded. It is
// stable, so equal identifiers find each other, and useless without the tenant key.
func (p *Protector) Index(purpose, value string) string {
	mac := p.macPool.Get().(hash.Hash)
	defer p.macPool.Put(mac)
	mac.Reset()
	mac.Write([]byte(purpose))
	mac.Write([]byte{0})
	mac.Write([]byte(value))
	return hex.EncodeToString(mac.Sum(nil))
}
