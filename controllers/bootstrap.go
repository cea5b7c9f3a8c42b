package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	kratos "github.com/ory/kratos-client-go"
	"github.com/redis/go-redis/v9"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	platformv1alpha1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/redisserver"
	"github.com/homeward-dev/homeward/services/kit/auth"
)

// errAppendOnlyFileOff: a Redis that would lose acknowledged writes in a crash is not storage.
var errAppendOnlyFileOff = errors.New("redis has the append-only file off: refusing to store health data without it")

// bootstrapStorage checks the tenant's Redis as its admin: the append-only file is on and every
// service's ACL user has exactly its rules — set again each time, so a user lost in a volume restore
// comes back and a Redis started before the rules changed (a new channel, say) takes the new ones
// without a restart.
func bootstrapStorage(ctx context.Context, addr string, t Tenant) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr, Username: redisserver.AdminUser, Password: t.Keys.RedisAdmin,
		DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, MaxRetries: -1})
	defer rdb.Close()
	aof, err := rdb.ConfigGet(ctx, "appendonly").Result()
	if err != nil {
		return fmt.Errorf("redis at %s: %w", addr, err)
	}
	if aof["appendonly"] != "yes" {
		return errAppendOnlyFileOff
	}
	for _, u := range RedisUsers(t.Partnership.Name, t.Keys) {
		args := []any{"ACL", "SETUSER", u.Name, "reset", "on", ">" + u.Password}
		for _, r := range u.Rules {
			args = append(args, r)
		}
		if err := rdb.Do(ctx, args...).Err(); err != nil {
			return fmt.Errorf("redis ACL SETUSER %s: %w", u.Name, err)
		}
	}
	return nil
}

// invitationLifespan is how long an admin's invitation link works.
const invitationLifespan = 72 * time.Hour

// bootstrapIdentity makes every spec.admins entry a partnership-admin identity in the tenant's
// Kratos, exactly once however often it runs, and keeps an invitation (recovery) link for each new
// one in a Secret in the tenant namespace. It returns the admins' status without the links.
func bootstrapIdentity(ctx context.Context, c client.Client, adminURL string, t Tenant, previous []platformv1alpha1.AdminStatus) ([]platformv1alpha1.AdminStatus, error) {
	api := kratosserver.Client(adminURL)
	var errs []error
	statuses := make([]platformv1alpha1.AdminStatus, 0, len(t.Partnership.Spec.Admins))
	for _, admin := range t.Partnership.Spec.Admins {
		st, err := inviteAdmin(ctx, c, api, t, admin, previousStatus(previous, admin.Email))
		if err != nil {
			errs = append(errs, err)
		}
		statuses = append(statuses, st)
	}
	return statuses, errors.Join(errs...)
}

func previousStatus(previous []platformv1alpha1.AdminStatus, email string) *platformv1alpha1.AdminStatus {
	i := slices.IndexFunc(previous, func(s platformv1alpha1.AdminStatus) bool { return s.Email == email })
	if i < 0 {
		return nil
	}
	return &previous[i]
}

// InvitationSecretName names the Secret holding an admin's invitation link.
func InvitationSecretName(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return "invitation-" + hex.EncodeToString(sum[:8])
}

func inviteAdmin(ctx context.Context, c client.Client, api *kratos.APIClient, t Tenant, admin platformv1alpha1.Admin,
	prev *platformv1alpha1.AdminStatus,
) (platformv1alpha1.AdminStatus, error) {
	st := platformv1alpha1.AdminStatus{Email: admin.Email, Invitation: platformv1alpha1.InvitationPending}
	if prev != nil && prev.Invitation == platformv1alpha1.InvitationSent && prev.IdentityID != "" {
		return *prev, nil
	}
	fail := func(err error) (platformv1alpha1.AdminStatus, error) {
		st.Invitation = platformv1alpha1.InvitationFailed
		st.Message = err.Error()
		return st, fmt.Errorf("invite %s: %w", admin.Email, err)
	}
	// Look the admin up by login identifier first, so neither a re-run nor an operator restart
	// ever creates a second identity.
	found, resp, err := api.IdentityAPI.ListIdentities(ctx).CredentialsIdentifier(strings.ToLower(admin.Email)).Execute()
	if err != nil {
		return fail(kratosserver.DescribeError(resp, err))
	}
	var id string
	if len(found) > 0 {
		id = found[0].Id
	} else {
		body := kratos.NewCreateIdentityBody(kratosserver.SchemaID, map[string]any{"email": admin.Email, "name": admin.Name})
		body.MetadataPublic = auth.Metadata(t.Partnership.Name, auth.RolePartnershipAdmin)
		created, resp, err := api.IdentityAPI.CreateIdentity(ctx).CreateIdentityBody(*body).Execute()
		if err != nil {
			return fail(kratosserver.DescribeError(resp, err))
		}
		id = created.Id
	}
	st.IdentityID = id
	code, resp, err := api.IdentityAPI.CreateRecoveryCodeForIdentity(ctx).
		CreateRecoveryCodeForIdentityBody(kratos.CreateRecoveryCodeForIdentityBody{
			IdentityId: id, ExpiresIn: kratos.PtrString(invitationLifespan.String()),
		}).Execute()
	if err != nil {
		return fail(kratosserver.DescribeError(resp, err))
	}
	name := InvitationSecretName(admin.Email)
	secret := corev1ac.Secret(name, t.Namespace).
		WithLabels(TenantLabels(t.Partnership, ComponentKratos)).
		WithType(corev1.SecretTypeOpaque).
		WithData(map[string][]byte{
			"email":         []byte(admin.Email),
			"recovery-link": []byte(code.RecoveryLink),
			"recovery-code": []byte(code.RecoveryCode),
		})
	if err := c.Apply(ctx, secret, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fail(fmt.Errorf("store invitation: %w", err))
	}
	st.Invitation = platformv1alpha1.InvitationSent
	st.InvitationSecret = name
	if code.ExpiresAt != nil {
		st.InvitationExpiresAt = &metav1.Time{Time: code.ExpiresAt.UTC().Truncate(time.Second)}
	}
	return st, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
