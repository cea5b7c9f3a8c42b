package kratosserver_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/testenv"
)

var oldhamCoordinator = testenv.Person{
	Email:    "ayesha.coordinator@oldham.example",
	Name:     "Ayesha Coordinator",
	Password: "a-long-test-passphrase-1",
	MetadataPublic: map[string]any{
		"partnership": "oldham",
		"roles":       []any{"coordinator"},
	},
}

func TestIdentityLogsInAndToSessionAnswersWithRoles(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	idp := testenv.Kratos(t, kratosserver.Options{})

	id, token, err := idp.CreateAndLogin(ctx, oldhamCoordinator)
	g.Expect(err).NotTo(HaveOccurred())

	session, _, err := idp.Public.FrontendAPI.ToSession(ctx).XSessionToken(token).Execute()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(session.GetActive()).To(BeTrue())
	g.Expect(session.Identity.Id).To(Equal(id))
	g.Expect(session.Identity.Traits).To(HaveKeyWithValue("email", oldhamCoordinator.Email))
	g.Expect(session.Identity.MetadataPublic).To(Equal(oldhamCoordinator.MetadataPublic))

	_, resp, err := idp.Public.FrontendAPI.ToSession(ctx).XSessionToken(token + "x").Execute()
	g.Expect(err).To(HaveOccurred())
	g.Expect(resp.StatusCode).To(Equal(401))
}

func TestWrongPasswordAndSelfRegistrationAreRefused(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	idp := testenv.Kratos(t, kratosserver.Options{})
	_, err := idp.CreateIdentity(ctx, oldhamCoordinator)
	g.Expect(err).NotTo(HaveOccurred())

	_, err = idp.Login(ctx, oldhamCoordinator.Email, "not-the-password")
	g.Expect(err).To(MatchError(ContainSubstring("400")))

	_, resp, err := idp.Public.FrontendAPI.CreateNativeRegistrationFlow(ctx).Execute()
	g.Expect(err).To(HaveOccurred(), "staff are invited by a partnership admin, never self-registered")
	g.Expect(resp.StatusCode).To(BeNumerically(">=", 400))
}

func TestIdentitySchemaRejectsMissingTraits(t *testing.T) {
	g := NewWithT(t)
	idp := testenv.Kratos(t, kratosserver.Options{})
	_, err := idp.CreateIdentity(context.Background(), testenv.Person{Email: "no-name@oldham.example", Password: "a-long-test-passphrase-2"})
	g.Expect(err).To(MatchError(ContainSubstring("400")))
}

func TestSQLiteIdentitiesSurviveKillNineAndRestart(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	dir := t.TempDir()
	idp := testenv.Kratos(t, kratosserver.Options{
		Dir: dir,
		DSN: "sqlite://" + filepath.Join(dir, "kratos.db") + "?_fk=true&mode=rwc",
	})
	id, err := idp.CreateIdentity(ctx, oldhamCoordinator)
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(idp.Kill()).To(Succeed())
	g.Expect(idp.Ready(ctx)).NotTo(Succeed())
	g.Expect(idp.Restart(ctx)).To(Succeed())

	identity, _, err := idp.Admin.IdentityAPI.GetIdentity(ctx, id).Execute()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(identity.Traits).To(HaveKeyWithValue("name", oldhamCoordinator.Name))
	_, err = idp.Login(ctx, oldhamCoordinator.Email, oldhamCoordinator.Password)
	g.Expect(err).NotTo(HaveOccurred())
	testenv.ExpectPrivateFiles(t, dir)
}

func TestInvalidOptionsAreRefusedWithEveryReason(t *testing.T) {
	_, err := kratosserver.Start(context.Background(), kratosserver.Options{
		Hasher:       "md5",
		CipherSecret: "short",
		CookieSecret: "tiny",
	})
	if err == nil {
		t.Fatal("Start accepted invalid options")
	}
	for _, want := range []string{"path is required", "data dir is required", `hasher "md5"`, "exactly 32 characters", "at least 16 characters"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
