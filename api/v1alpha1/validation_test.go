package v1alpha1_test

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/internal/testenv"
)

// The schema and CEL rules are checked by a real kube-apiserver: what a platform admin would see.
func TestPartnershipValidation(t *testing.T) {
	cp := testenv.ControlPlane(t, testenv.ControlPlaneOptions{CRDDirectoryPaths: []string{"config/crd/bases"}})
	scheme := runtime.NewScheme()
	if err := v1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("defaults fill what the admin left out", func(t *testing.T) {
		g := NewWithT(t)
		p := testenv.Partnership("defaults")
		g.Expect(c.Create(ctx, p)).To(Succeed())
		g.Expect(p.Spec.Services.Referral).To(Equal(ptr.To[int32](1)))
		g.Expect(p.Spec.Services.Portal).To(Equal(ptr.To[int32](1)))
		g.Expect(p.Spec.Policy.ResponseTargets.Emergency).To(Equal(&v1.ResponseTarget{Value: 24, Unit: v1.UnitHours}))
		g.Expect(p.Spec.Policy.ResponseTargets.Urgent).To(Equal(&v1.ResponseTarget{Value: 3, Unit: v1.UnitWorkingDays}))
		g.Expect(p.Spec.Policy.ResponseTargets.Routine).To(Equal(&v1.ResponseTarget{Value: 10, Unit: v1.UnitWorkingDays}))
		g.Expect(p.Spec.Policy.MaxStayDays).To(Equal(int32(42)))
		g.Expect(p.Spec.Policy.FollowUpDays).To(Equal([]int32{30, 91}))
		g.Expect(p.Spec.Policy.RetentionDays).To(Equal(int32(2922)))
		g.Expect(p.Spec.Policy.HousingBenefitClaimDays).To(Equal(int32(14)))
		g.Expect(p.Spec.CostModel.Currency).To(Equal(v1.Currency("GBP")))
		g.Expect(p.Spec.Storage.Redis.AppendFsync).To(Equal(v1.AppendFsyncAlways))
		g.Expect(p.Spec.Storage.Redis.Size.Equal(resource.MustParse("5Gi"))).To(BeTrue())
		g.Expect(p.Spec.Identity.SessionLifespan.Duration.String()).To(Equal("8h0m0s"))
		g.Expect(p.Spec.DeletionPolicy).To(Equal(v1.DeletionRetain))
		g.Expect(p.Spec.Observability.TraceSamplePercent).To(Equal(ptr.To[int32](100)))
		g.Expect(p.Spec.Resources.Pods).To(Equal(int32(50)))
		g.Expect(p.Spec.Resources.RequestsEphemeralStorage.String()).To(Equal("10Gi"))
		g.Expect(p.Spec.Resources.LimitsEphemeralStorage.String()).To(Equal("20Gi"))
		g.Expect(p.Spec.Resources.Objects).To(Equal(v1.ObjectCounts{ConfigMaps: 40, Secrets: 60, Services: 20, PersistentVolumeClaims: 10}))
		g.Expect(p.Spec.Resources.LimitsMemory.Equal(resource.MustParse("16Gi"))).To(BeTrue())
	})

	for _, tc := range []struct {
		name   string
		mutate func(*v1.Partnership)
		want   string
	}{
		{"bad host", func(p *v1.Partnership) { p.Spec.Host = "Oldham_Portal" }, "host must be a lower-case DNS name"},
		{"single-label host", func(p *v1.Partnership) { p.Spec.Host = "localhost" }, "host must be a lower-case DNS name"},
		{"savings split not 100", func(p *v1.Partnership) { p.Spec.CostModel.SavingsSplit.NHS = 31 }, "savingsSplit percentages must sum to 100"},
		{"money with 3 decimals", func(p *v1.Partnership) { p.Spec.CostModel.BedDayCost = "345.001" }, "money must be a decimal string with at most 2 decimal places"},
		{"negative money", func(p *v1.Partnership) { p.Spec.CostModel.SchemeAnnualCost = "-1.00" }, "money must be a decimal string"},
		{"unknown partner type", func(p *v1.Partnership) { p.Spec.Partners[0].Type = "Charity" }, `Unsupported value: "Charity"`},
		{"no partners", func(p *v1.Partnership) { p.Spec.Partners = nil }, "spec.partners"},
		{"empty admins", func(p *v1.Partnership) { p.Spec.Admins = nil }, "spec.admins"},
		{"bad admin email", func(p *v1.Partnership) { p.Spec.Admins[0].Email = "not-an-email" }, "email must be an email address"},
		{"admin outside allowed domains", func(p *v1.Partnership) {
			p.Spec.Identity.AllowedEmailDomains = []string{"nhs.example"}
		}, "every admin's email must be in one of identity.allowedEmailDomains"},
		{"lower-case ODS code", func(p *v1.Partnership) { p.Spec.Partners[1].ODSCode = "rwy" }, "odsCode must be 3 to 10 upper-case"},
		{"follow-ups out of order", func(p *v1.Partnership) { p.Spec.Policy.FollowUpDays = []int32{91, 30} }, "followUpDays must be in ascending order"},
		{"response target in weeks", func(p *v1.Partnership) {
			p.Spec.Policy.ResponseTargets.Urgent = &v1.ResponseTarget{Value: 1, Unit: "Weeks"}
		}, `Unsupported value: "Weeks"`},
		{"session of a minute", func(p *v1.Partnership) {
			p.Spec.Identity.SessionLifespan = &metav1.Duration{Duration: 60_000_000_000}
		}, "sessionLifespan must be between 5m and 720h"},
		{"unknown deletion policy", func(p *v1.Partnership) { p.Spec.DeletionPolicy = "Orphan" }, `Unsupported value: "Orphan"`},
		{"negative replicas", func(p *v1.Partnership) { p.Spec.Services.Reporting = ptr.To[int32](-1) }, "spec.services.reporting"},
		{"more than every trace", func(p *v1.Partnership) { p.Spec.Observability.TraceSamplePercent = ptr.To[int32](101) }, "spec.observability.traceSamplePercent"},
		{"no secrets at all", func(p *v1.Partnership) { p.Spec.Resources.Objects.Secrets = -1 }, "spec.resources.objects.secrets"},
		{"name too long for a namespace", func(p *v1.Partnership) { p.Name = strings.Repeat("a", 41) }, "metadata.name must be a DNS label of at most 40 characters"},
		{"padded display name", func(p *v1.Partnership) { p.Spec.DisplayName = " Camden " }, "displayName must not start or end with spaces"},
		// Found by test/verify's random manifests: the API let these in, and the volume claims the
		// operator then made were refused, so the tenant could never start.
		{"storage class not a DNS name", func(p *v1.Partnership) { p.Spec.Storage.Redis.StorageClassName = ptr.To("UPPER.example") }, "spec.storage.redis.storageClassName"},
		{"no storage", func(p *v1.Partnership) { p.Spec.Storage.Redis.Size = ptr.To(resource.MustParse("0")) }, "storage.redis.size must be greater than zero"},
		{"negative storage", func(p *v1.Partnership) { p.Spec.Storage.Redis.Size = ptr.To(resource.MustParse("-1Gi")) }, "storage.redis.size must be greater than zero"},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			g := NewWithT(t)
			p := testenv.Partnership("invalid")
			tc.mutate(p)
			err := c.Create(ctx, p)
			g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
			g.Expect(err.Error()).To(ContainSubstring(tc.want))
		})
	}
}
