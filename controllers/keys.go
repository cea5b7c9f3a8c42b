package controllers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	platformv1alpha1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/internal/redisserver"
	"github.com/homeward-dev/homeward/services/kit/keyspace"
)

// KeysSecret holds every secret a tenant's components are built from. It is generated once,
// never rotated silently, never logged, and carries no owner reference: under the Retain policy
// it outlives its Partnership so a re-created one can read its data again.
const KeysSecret = "tenant-keys"

// Keys are a tenant's generated secrets.
type Keys struct {
	RedisAdmin   string
	RedisUsers   map[string]string // component → password
	KratosCookie string
	KratosCipher string
	// PIIKey is the 256-bit AES key for personal data at rest.
	PIIKey []byte
}

func keyNames() map[string]func() []byte {
	hexSecret := func(n int) func() []byte {
		return func() []byte { return []byte(hex.EncodeToString(randomBytes(n))) }
	}
	names := map[string]func() []byte{
		"redis-admin":   hexSecret(24),
		"kratos-cookie": hexSecret(24),
		"kratos-cipher": hexSecret(16), // exactly 32 characters, as Kratos requires
		"pii-key":       func() []byte { return []byte(base64.StdEncoding.EncodeToString(randomBytes(32))) },
	}
	for _, c := range ServiceComponents {
		names["redis-"+c] = hexSecret(24)
	}
	return names
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return b
}

// ensureKeys creates the keys Secret when missing and adds any key it lacks, never changing one
// that exists.
func ensureKeys(ctx context.Context, c client.Client, p *platformv1alpha1.Partnership) (Keys, error) {
	ns := NamespaceName(p.Name)
	var s corev1.Secret
	err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: KeysSecret}, &s)
	if apierrors.IsNotFound(err) {
		s = corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: KeysSecret, Namespace: ns, Labels: TenantLabels(p, "")},
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{},
		}
		for name, gen := range keyNames() {
			s.Data[name] = gen()
		}
		if err := c.Create(ctx, &s); err != nil {
			return Keys{}, fmt.Errorf("create %s: %w", KeysSecret, err)
		}
		return parseKeys(s.Data)
	}
	if err != nil {
		return Keys{}, fmt.Errorf("get %s: %w", KeysSecret, err)
	}
	if s.Labels[LabelPartnership] != p.Name {
		return Keys{}, fmt.Errorf("secret %s/%s belongs to partnership %q, not %q", ns, KeysSecret, s.Labels[LabelPartnership], p.Name)
	}
	changed := false
	for name, gen := range keyNames() {
		if len(s.Data[name]) == 0 {
			if s.Data == nil {
				s.Data = map[string][]byte{}
			}
			s.Data[name] = gen()
			changed = true
		}
	}
	if changed {
		if err := c.Update(ctx, &s); err != nil {
			return Keys{}, fmt.Errorf("add missing keys to %s: %w", KeysSecret, err)
		}
	}
	return parseKeys(s.Data)
}

func parseKeys(data map[string][]byte) (Keys, error) {
	pii, err := base64.StdEncoding.DecodeString(string(data["pii-key"]))
	if err != nil || len(pii) != 32 {
		return Keys{}, fmt.Errorf("%s: pii-key is not 32 base64-encoded bytes", KeysSecret)
	}
	k := Keys{
		RedisAdmin:   string(data["redis-admin"]),
		RedisUsers:   map[string]string{},
		KratosCookie: string(data["kratos-cookie"]),
		KratosCipher: string(data["kratos-cipher"]),
		PIIKey:       pii,
	}
	for _, c := range ServiceComponents {
		k.RedisUsers[c] = string(data["redis-"+c])
	}
	return k, nil
}

// RedisUsers are the tenant's Redis ACL users, one per service, with the rules keyspace sets.
func RedisUsers(tenant string, k Keys) []redisserver.User {
	keys := keyspace.For(tenant)
	users := make([]redisserver.User, 0, len(ServiceComponents))
	for _, c := range ServiceComponents {
		users = append(users, redisserver.User{Name: c, Password: k.RedisUsers[c], Rules: keys.ACLRules(c)})
	}
	return users
}
