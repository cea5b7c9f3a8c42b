package controllers_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	kratos "github.com/ory/kratos-client-go"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	v1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/controllers"
	"github.com/homeward-dev/homeward/internal/binaries"
	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/operator"
	"github.com/homeward-dev/homeward/internal/process"
	"github.com/homeward-dev/homeward/internal/redisserver"
	"github.com/homeward-dev/homeward/internal/testenv"
)

func recordedPid(g Gomega, dataDir, partnership, component string) int {
	rec, err := process.ReadRecord(filepath.Join(dataDir, partnership, component, component+".process.json"))
	g.Expect(err).NotTo(HaveOccurred())
	return rec.Pid
}

func pidAlive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

func endpoint(g Gomega, c client.Client, name, service string) string {
	var p v1.Partnership
	g.Expect(c.Get(context.Background(), client.ObjectKey{Name: name}, &p)).To(Succeed())
	for _, e := range p.Status.Endpoints.Services {
		if e.Name == service {
			return e.URL
		}
	}
	g.Expect(service).To(BeEmpty(), "no %s endpoint in status", service)
	return ""
}

func identitiesFor(g Gomega, adminURL, email string) []kratos.Identity {
	ids, _, err := kratosserver.Client(adminURL).IdentityAPI.ListIdentities(context.Background()).CredentialsIdentifier(email).Execute()
	g.Expect(err).NotTo(HaveOccurred())
	return ids
}

func TestLocalRuntime(t *testing.T) {
	cp := testenv.ControlPlane(t, testenv.ControlPlaneOptions{CRDDirectoryPaths: []string{"config/crd/bases"}, ControllerManager: true})
	c := newClient(t, cp.Config)
	kratosPath, err := binaries.Path("kratos")
	if err != nil {
		t.Fatal(err)
	}
	homewardPath, err := binaries.Path("homeward")
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	opts := operator.Options{
		Runtime: operator.RuntimeLocal, DataDir: dataDir,
		RedisPath: "/usr/bin/redis-server", KratosPath: kratosPath, KratosHasher: kratosserver.HasherFastForTests,
		HomewardPath: homewardPath,
		// Short, so a fault that raises no event is found within the test.
		HealthRecheck: 2 * time.Second,
	}
	// Tenant processes outlive operators by design; the test stops whatever is left.
	t.Cleanup(func() {
		for _, name := range []string{"kirklees", "camden", "kettering"} {
			for _, comp := range []string{"redis", "kratos", "referral", "housing", "reporting", "portal"} {
				rec, _ := process.ReadRecord(filepath.Join(dataDir, name, comp, comp+".process.json"))
				if pidAlive(rec.Pid) {
					_ = syscall.Kill(-rec.Pid, syscall.SIGKILL)
				}
			}
		}
	})
	suite := t // operators outlive the subtest that starts them
	_, stop := runOperator(suite, cp.Config, opts)
	ctx := context.Background()
	const admin = "hfh.coordinator@kirklees.example"

	t.Run("a tenant gets a running Redis and Kratos, and its admin is invited once", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.Create(ctx, loadSample(t, "kirklees"))).To(Succeed())
		g.Eventually(condition(c, "kirklees", v1.ConditionStorageReady)).WithTimeout(eventually).Should(hasStatus(metav1.ConditionTrue, v1.ReasonReady))
		g.Eventually(condition(c, "kirklees", v1.ConditionIdentityReady)).WithTimeout(eventually).Should(hasStatus(metav1.ConditionTrue, v1.ReasonReady))
		// Every service runs, the portal in front of them, published as the tenant's portal URL.
		g.Eventually(condition(c, "kirklees", v1.ConditionServicesReady)).WithTimeout(eventually).Should(hasStatus(metav1.ConditionTrue, v1.ReasonReady))
		g.Eventually(condition(c, "kirklees", v1.ConditionReady)).WithTimeout(eventually).Should(hasStatus(metav1.ConditionTrue, v1.ReasonReady))
		for _, svc := range []string{"referral", "housing", "reporting", "portal"} {
			g.Eventually(func(g Gomega) { g.Expect(endpoint(g, c, "kirklees", svc)).To(HavePrefix("http://127.0.0.1:")) }).WithTimeout(eventually).Should(Succeed())
			resp, err := http.Get(endpoint(g, c, "kirklees", svc) + "/readyz")
			g.Expect(err).NotTo(HaveOccurred())
			resp.Body.Close()
			g.Expect(resp.StatusCode).To(Equal(http.StatusOK), svc)
		}
		var p v1.Partnership
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "kirklees"}, &p)).To(Succeed())
		g.Expect(p.Status.Endpoints.Portal).To(Equal(endpoint(g, c, "kirklees", "portal") + "/"))
		// The portal serves Kratos' sign-in on its own host: the page a staff member opens.
		jar, _ := cookiejar.New(nil)
		resp, err := (&http.Client{Jar: jar}).Get(p.Status.Endpoints.Portal + "login")
		g.Expect(err).NotTo(HaveOccurred())
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
		g.Expect(string(body)).To(ContainSubstring(`action="` + p.Status.Endpoints.Portal + `.ory/kratos/public/self-service/login?flow=`))

		g.Expect(endpoint(g, c, "kirklees", "redis")).To(HavePrefix("redis://127.0.0.1:"))
		g.Expect(identitiesFor(g, endpoint(g, c, "kirklees", "kratos-admin"), admin)).To(HaveLen(1))
		g.Expect(filepath.Join(dataDir, "kirklees", "redis", "appendonlydir")).To(BeADirectory())
		g.Expect(filepath.Join(dataDir, "kirklees", "kratos", "kratos.db")).To(BeAnExistingFile())
	})

	t.Run("re-reconciling and restarting the operator adopt, never duplicate", func(t *testing.T) {
		g := NewWithT(t)
		redisPid := recordedPid(g, dataDir, "kirklees", "redis")
		kratosPid := recordedPid(g, dataDir, "kirklees", "kratos")
		referralPid := recordedPid(g, dataDir, "kirklees", "referral")
		updatePartnership(g, c, "kirklees", func(p *v1.Partnership) { p.Spec.Region = "West Yorkshire" })
		g.Eventually(condition(c, "kirklees", v1.ConditionIdentityReady)).WithTimeout(eventually).Should(hasStatus(metav1.ConditionTrue, v1.ReasonReady))

		stop()
		g.Expect(pidAlive(redisPid) && pidAlive(kratosPid)).To(BeTrue(), "tenants keep running while no operator does")
		_, stop = runOperator(suite, cp.Config, opts)
		updatePartnership(g, c, "kirklees", func(p *v1.Partnership) { p.Spec.Region = "Kirklees" })
		g.Eventually(condition(c, "kirklees", v1.ConditionIdentityReady)).WithTimeout(eventually).Should(hasStatus(metav1.ConditionTrue, v1.ReasonReady))
		g.Expect(recordedPid(g, dataDir, "kirklees", "redis")).To(Equal(redisPid))
		g.Expect(recordedPid(g, dataDir, "kirklees", "kratos")).To(Equal(kratosPid))
		g.Eventually(func(g Gomega) { g.Expect(endpoint(g, c, "kirklees", "referral")).NotTo(BeEmpty()) }).WithTimeout(eventually).Should(Succeed())
		g.Expect(recordedPid(g, dataDir, "kirklees", "referral")).To(Equal(referralPid))
		g.Expect(identitiesFor(g, endpoint(g, c, "kirklees", "kratos-admin"), admin)).To(HaveLen(1))
	})

	t.Run("the referral service serves the tenant with its policy, and restarts when the policy changes", func(t *testing.T) {
		g := NewWithT(t)
		zero := ptr.To[int32](0)
		updatePartnership(g, c, "kirklees", func(p *v1.Partnership) {
			p.Spec.Services = v1.ServiceReplicas{HousingOptions: zero, Reporting: zero, Portal: zero}
		})
		g.Eventually(condition(c, "kirklees", v1.ConditionReady)).WithTimeout(eventually).Should(hasStatus(metav1.ConditionTrue, v1.ReasonReady))
		kratosAdmin, kratosPublic := endpoint(g, c, "kirklees", "kratos-admin"), endpoint(g, c, "kirklees", "kratos-public")
		identity := &testenv.Identity{Admin: kratosserver.Client(kratosAdmin), Public: kratosserver.Client(kratosPublic)}
		_, token, err := identity.CreateAndLogin(ctx, testenv.Person{Email: "coordinator@kirklees.example", Name: "Coordinator",
			Password: "a long enough test password", MetadataPublic: map[string]any{"partnership": "kirklees", "roles": []any{"coordinator"}}})
		g.Expect(err).NotTo(HaveOccurred())
		refer := func(g Gomega) string {
			body := `{"person":{"name":"Test Person"},"source":"ward","referrer":{"organisation":"Calderdale and Huddersfield NHS FT"},` +
				`"consent":{"toRefer":true,"toShare":true},"tenure":"owner-occupier","needs":["adaptations"],"priority":"urgent"}`
			req, _ := http.NewRequest("POST", endpoint(g, c, "kirklees", "referral")+"/v1/referrals", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			g.Expect(err).NotTo(HaveOccurred())
			defer resp.Body.Close()
			var out struct{ Response struct{ Target string } }
			g.Expect(resp.StatusCode).To(Equal(http.StatusCreated))
			g.Expect(json.NewDecoder(resp.Body).Decode(&out)).To(Succeed())
			return out.Response.Target
		}
		g.Expect(refer(g)).To(Equal("3 working days"))

		pid := recordedPid(g, dataDir, "kirklees", "referral")
		updatePartnership(g, c, "kirklees", func(p *v1.Partnership) {
			p.Spec.Policy.ResponseTargets.Urgent = &v1.ResponseTarget{Value: 5, Unit: v1.UnitWorkingDays}
		})
		g.Eventually(func() int { return recordedPid(NewWithT(t), dataDir, "kirklees", "referral") }).WithTimeout(eventually).ShouldNot(Equal(pid))
		g.Eventually(refer).WithTimeout(eventually).Should(Equal("5 working days"))
	})

	t.Run("no tenant secret is in a running process's arguments or environment, a log, an event or the status; the data folder is private", func(t *testing.T) {
		g := NewWithT(t)
		var keys corev1.Secret
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: controllers.NamespaceName("kirklees"), Name: controllers.KeysSecret}, &keys)).To(Succeed())
		var secrets []string
		for name, value := range keys.Data {
			g.Expect(len(value)).To(BeNumerically(">=", 16), name)
			secrets = append(secrets, string(value), base64.StdEncoding.EncodeToString(value))
		}
		g.Expect(secrets).NotTo(BeEmpty())
		expectNoSecret := func(where, text string) {
			t.Helper()
			for _, secret := range secrets {
				if strings.Contains(text, secret) {
					t.Errorf("a tenant secret is in %s", where)
				}
			}
		}
		// The subtest before scaled housing, reporting and the portal to zero: the rest run.
		for _, comp := range []string{"redis", "kratos", "referral"} {
			pid := recordedPid(g, dataDir, "kirklees", comp)
			for _, file := range []string{"cmdline", "environ"} {
				b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), file))
				g.Expect(err).NotTo(HaveOccurred())
				expectNoSecret(comp+"'s "+file, string(b))
			}
		}
		g.Expect(filepath.WalkDir(filepath.Join(dataDir, "kirklees"), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".log") {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				expectNoSecret(p, string(b))
			}
			return err
		})).To(Succeed())
		var events eventsv1.EventList
		g.Expect(c.List(ctx, &events)).To(Succeed())
		var p v1.Partnership
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "kirklees"}, &p)).To(Succeed())
		for where, obj := range map[string]any{"an event": events, "the status": p.Status} {
			b, err := json.Marshal(obj)
			g.Expect(err).NotTo(HaveOccurred())
			expectNoSecret(where, string(b))
		}
		testenv.ExpectPrivateFiles(t, filepath.Join(dataDir, "kirklees"))
	})

	for _, component := range []struct{ name, condition string }{
		{"redis", v1.ConditionStorageReady},
		{"kratos", v1.ConditionIdentityReady},
		{"referral", v1.ConditionServicesReady},
	} {
		t.Run("a killed "+component.name+" is reported and restarted", func(t *testing.T) {
			g := NewWithT(t)
			pid := recordedPid(g, dataDir, "kirklees", component.name)
			g.Expect(syscall.Kill(pid, syscall.SIGKILL)).To(Succeed())
			g.Eventually(condition(c, "kirklees", component.condition)).WithTimeout(eventually).WithPolling(20 * time.Millisecond).
				Should(HaveField("Status", metav1.ConditionFalse))
			var events eventsv1.EventList
			g.Eventually(func(g Gomega) {
				g.Expect(c.List(ctx, &events)).To(Succeed())
				g.Expect(events.Items).To(ContainElement(HaveField("Note", ContainSubstring(component.condition+" is False"))))
			}).WithTimeout(eventually).Should(Succeed(), "every crash shows in the events")
			g.Eventually(condition(c, "kirklees", component.condition)).WithTimeout(eventually).
				Should(hasStatus(metav1.ConditionTrue, v1.ReasonReady))
			g.Expect(recordedPid(g, dataDir, "kirklees", component.name)).NotTo(Equal(pid))
			g.Expect(identitiesFor(g, endpoint(g, c, "kirklees", "kratos-admin"), admin)).To(HaveLen(1), "identities survive the restart")
		})
	}

	t.Run("Redis without its append-only file is reported by the next check, and counted for the alert", func(t *testing.T) {
		g := NewWithT(t)
		var keys corev1.Secret
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "hw-kirklees", Name: controllers.KeysSecret}, &keys)).To(Succeed())
		rdb := redis.NewClient(&redis.Options{Addr: strings.TrimPrefix(endpoint(g, c, "kirklees", "redis"), "redis://"),
			Username: redisserver.AdminUser, Password: string(keys.Data["redis-admin"])})
		defer rdb.Close()
		g.Expect(rdb.ConfigSet(ctx, "appendonly", "no").Err()).To(Succeed())
		g.Eventually(condition(c, "kirklees", v1.ConditionStorageReady)).WithTimeout(eventually).
			Should(hasStatus(metav1.ConditionFalse, v1.ReasonAppendOnlyFileOff))
		g.Expect(testutil.CollectAndCompare(controllers.PartnershipCollector{Reader: c}, strings.NewReader(`
# HELP homeward_partnerships_not_ready Partnerships whose condition is not True, by condition type and reason (reasons are the API's constants, so the set is bounded).
# TYPE homeward_partnerships_not_ready gauge
homeward_partnerships_not_ready{condition="Ready",reason="AppendOnlyFileOff"} 1
homeward_partnerships_not_ready{condition="StorageReady",reason="AppendOnlyFileOff"} 1
`), "homeward_partnerships_not_ready")).To(Succeed(), "the alert's expression finds the tenant")

		g.Expect(rdb.ConfigSet(ctx, "appendonly", "yes").Err()).To(Succeed())
		g.Eventually(condition(c, "kirklees", v1.ConditionReady)).WithTimeout(eventually).Should(hasStatus(metav1.ConditionTrue, v1.ReasonReady))
	})

	t.Run("Kratos takes an external DSN from the Secret the spec names, and never writes it to its config", func(t *testing.T) {
		g := NewWithT(t)
		p := loadSample(t, "kettering")
		zero := ptr.To[int32](0)
		p.Spec.Services = v1.ServiceReplicas{Referral: zero, HousingOptions: zero, Reporting: zero, Portal: zero}
		p.Spec.Identity.ExternalDSNSecretRef = &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "kratos-dsn"}, Key: "dsn"}
		g.Expect(c.Create(ctx, p)).To(Succeed())
		g.Eventually(condition(c, "kettering", v1.ConditionIdentityReady)).WithTimeout(eventually).Should(And(
			hasStatus(metav1.ConditionFalse, v1.ReasonNotReady), HaveField("Message", ContainSubstring("kratos-dsn"))))

		// The database lives outside the tenant's data folder, as an external one would.
		external := filepath.Join(t.TempDir(), "external-kratos.db")
		dsn := "sqlite://" + external + "?_fk=true&mode=rwc"
		g.Expect(c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "kratos-dsn", Namespace: "hw-kettering"},
			StringData: map[string]string{"dsn": dsn}})).To(Succeed())
		g.Eventually(condition(c, "kettering", v1.ConditionIdentityReady)).WithTimeout(eventually).Should(hasStatus(metav1.ConditionTrue, v1.ReasonReady))
		g.Expect(external).To(BeAnExistingFile())
		g.Expect(filepath.Join(dataDir, "kettering", "kratos", "kratos.db")).NotTo(BeAnExistingFile())
		config, err := os.ReadFile(filepath.Join(dataDir, "kettering", "kratos", "kratos.yaml"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(string(config)).NotTo(ContainSubstring(external))
		g.Expect(c.Delete(ctx, p)).To(Succeed())
	})

	t.Run("a tenant with no services is Ready; suspend stops it and resume starts it", func(t *testing.T) {
		g := NewWithT(t)
		p := loadSample(t, "camden")
		zero := ptr.To[int32](0)
		p.Spec.Services = v1.ServiceReplicas{Referral: zero, HousingOptions: zero, Reporting: zero, Portal: zero}
		g.Expect(c.Create(ctx, p)).To(Succeed())
		g.Eventually(condition(c, "camden", v1.ConditionReady)).WithTimeout(eventually).Should(hasStatus(metav1.ConditionTrue, v1.ReasonReady))
		redisPid := recordedPid(g, dataDir, "camden", "redis")

		updatePartnership(g, c, "camden", func(p *v1.Partnership) { p.Spec.Suspend = true })
		g.Eventually(condition(c, "camden", v1.ConditionReady)).WithTimeout(eventually).Should(hasStatus(metav1.ConditionFalse, v1.ReasonSuspended))
		g.Eventually(func() bool { return pidAlive(redisPid) }).WithTimeout(eventually).Should(BeFalse())

		updatePartnership(g, c, "camden", func(p *v1.Partnership) { p.Spec.Suspend = false })
		g.Eventually(condition(c, "camden", v1.ConditionReady)).WithTimeout(eventually).Should(hasStatus(metav1.ConditionTrue, v1.ReasonReady))
	})

	t.Run("Retain keeps the data folder; Delete removes it and stops the processes", func(t *testing.T) {
		g := NewWithT(t)
		redisPid := recordedPid(g, dataDir, "camden", "redis")
		g.Expect(c.Delete(ctx, &v1.Partnership{ObjectMeta: metav1.ObjectMeta{Name: "camden"}})).To(Succeed())
		g.Eventually(func() bool { return pidAlive(redisPid) }).WithTimeout(eventually).Should(BeFalse())
		g.Expect(filepath.Join(dataDir, "camden", "redis", "appendonlydir")).To(BeADirectory())

		updatePartnership(g, c, "kirklees", func(p *v1.Partnership) { p.Spec.DeletionPolicy = v1.DeletionDelete })
		kratosPid := recordedPid(g, dataDir, "kirklees", "kratos")
		g.Expect(c.Delete(ctx, &v1.Partnership{ObjectMeta: metav1.ObjectMeta{Name: "kirklees"}})).To(Succeed())
		g.Eventually(func() bool {
			_, err := os.Stat(filepath.Join(dataDir, "kirklees"))
			return os.IsNotExist(err)
		}).WithTimeout(eventually).Should(BeTrue())
		g.Expect(pidAlive(kratosPid)).To(BeFalse())
	})
}
