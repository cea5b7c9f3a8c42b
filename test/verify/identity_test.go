package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/testenv"
)

// TestStaffCannotGrantThemselvesARoleThroughSelfService signs a coordinator in to a real Kratos and
// submits its own settings (profile) flow with a partnership-admin role in every place a request
// could carry it: metadata_public beside the traits, and inside the traits. Roles live only in
// metadata_public, which only the admin API writes: the identity must end as it began.
func TestStaffCannotGrantThemselvesARoleThroughSelfService(t *testing.T) {
	record(t)
	g := NewWithT(t)
	ctx := context.Background()
	idp := testenv.Kratos(t, kratosserver.Options{})
	person := testenv.Person{Email: "kim.coordinator@oldham.example", Name: "Kim Coordinator", Password: "a-long-test-passphrase-2",
		MetadataPublic: map[string]any{"partnership": "oldham", "roles": []any{"coordinator"}}}
	id, token, err := idp.CreateAndLogin(ctx, person)
	g.Expect(err).NotTo(HaveOccurred())

	escalate := map[string]any{"partnership": "oldham", "roles": []any{"partnership-admin"}}
	for _, tc := range []struct {
		name string
		body map[string]any
	}{
		{"metadata_public beside the traits", map[string]any{"method": "profile",
			"traits": map[string]any{"email": person.Email, "name": "Kim Renamed"}, "metadata_public": escalate, "metadata_admin": escalate}},
		{"roles inside the traits", map[string]any{"method": "profile",
			"traits": map[string]any{"email": person.Email, "name": "Kim Renamed", "metadata_public": escalate, "roles": escalate["roles"]}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			flow, _, err := idp.Public.FrontendAPI.CreateNativeSettingsFlow(ctx).XSessionToken(token).Execute()
			g.Expect(err).NotTo(HaveOccurred())
			body, err := json.Marshal(tc.body)
			g.Expect(err).NotTo(HaveOccurred())
			req, err := http.NewRequest(http.MethodPost, idp.PublicURL()+"/self-service/settings?flow="+flow.Id, bytes.NewReader(body))
			g.Expect(err).NotTo(HaveOccurred())
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
			req.Header.Set("X-Session-Token", token)
			resp, err := http.DefaultClient.Do(req)
			g.Expect(err).NotTo(HaveOccurred())
			answer, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Logf("Kratos answered %d", resp.StatusCode)

			identity, _, err := idp.Admin.IdentityAPI.GetIdentity(ctx, id).Execute()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(identity.MetadataPublic).To(Equal(person.MetadataPublic), string(answer))
			g.Expect(identity.MetadataAdmin).To(BeNil())
			g.Expect(identity.Traits).NotTo(HaveKey("metadata_public"))
			g.Expect(identity.Traits).NotTo(HaveKey("roles"))
			session, _, err := idp.Public.FrontendAPI.ToSession(ctx).XSessionToken(token).Execute()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(session.Identity.MetadataPublic).To(Equal(person.MetadataPublic))
		})
	}
	// The control: the same flow does change what self-service may change — the name.
	identity, _, err := idp.Admin.IdentityAPI.GetIdentity(ctx, id).Execute()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(identity.Traits).To(HaveKeyWithValue("name", "Kim Renamed"))
}
