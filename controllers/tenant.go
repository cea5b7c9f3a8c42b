package controllers

import (
	"strconv"
	"time"

	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	platformv1alpha1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/services/kit/config"
)

// Labels on everything the operator creates, so any object can be traced to its tenant.
const (
	LabelPartnership = "homeward.dev/partnership"
	LabelComponent   = "app.kubernetes.io/component"
	LabelName        = "app.kubernetes.io/name"
	LabelManagedBy   = "app.kubernetes.io/managed-by"
	managedByValue   = "homeward-operator"
)

// Finalizer keeps a Partnership until what lives outside its namespace (local processes, data
// folders) is cleaned up according to its deletion policy.
const Finalizer = "platform.homeward.dev/tenant"

// Components of a tenant.
const (
	ComponentRedis     = "redis"
	ComponentKratos    = "kratos"
	ComponentReferral  = "referral"
	ComponentHousing   = "housing"
	ComponentReporting = "reporting"
	ComponentPortal    = "portal"
)

// ServiceComponents are the Homeward services, in the order they are reported.
var ServiceComponents = []string{ComponentReferral, ComponentHousing, ComponentReporting, ComponentPortal}

// AllComponents are every process a tenant runs.
var AllComponents = append([]string{ComponentRedis, ComponentKratos}, ServiceComponents...)

// NamespaceName is the tenant namespace of a partnership.
func NamespaceName(partnership string) string { return "hw-" + partnership }

// TraceSampleRatio is the share of the traces a tenant's processes start that they keep, as the
// services read it ("0.25"); empty, when the spec leaves it to the default, keeps them all.
func TraceSampleRatio(p *platformv1alpha1.Partnership) string {
	pct := p.Spec.Observability.TraceSamplePercent
	if pct == nil || *pct == 100 {
		return ""
	}
	return strconv.FormatFloat(float64(*pct)/100, 'f', -1, 64)
}

// Replicas is how many replicas of a service component the spec asks for; suspend means none.
func Replicas(p *platformv1alpha1.Partnership, component string) int32 {
	if p.Spec.Suspend {
		return 0
	}
	s := p.Spec.Services
	var r *int32
	switch component {
	case ComponentReferral:
		r = s.Referral
	case ComponentHousing:
		r = s.HousingOptions
	case ComponentReporting:
		r = s.Reporting
	case ComponentPortal:
		r = s.Portal
	default:
		return 1
	}
	if r == nil {
		return 1
	}
	return *r
}

func TenantLabels(p *platformv1alpha1.Partnership, component string) map[string]string {
	l := map[string]string{
		LabelPartnership: p.Name,
		LabelManagedBy:   managedByValue,
		LabelName:        "homeward",
	}
	if component != "" {
		l[LabelComponent] = component
	}
	return l
}

func SelectorLabels(p *platformv1alpha1.Partnership, component string) map[string]string {
	return map[string]string{LabelPartnership: p.Name, LabelComponent: component}
}

// ownerRef makes an object go with its Partnership. Objects that must survive a Retain deletion
// (the namespace, generated keys, volumes) deliberately carry none.
func OwnerRef(p *platformv1alpha1.Partnership) *metav1ac.OwnerReferenceApplyConfiguration {
	return metav1ac.OwnerReference().
		WithAPIVersion(platformv1alpha1.GroupVersion.String()).
		WithKind("Partnership").
		WithName(p.Name).
		WithUID(p.UID).
		WithController(true).
		WithBlockOwnerDeletion(true)
}

const defaultSessionLifespan = 8 * time.Hour

// servicePolicy is what the services read of the Partnership (HOMEWARD_POLICY): its policy and cost
// model, converted field by field to the services' types and encoded by them.
func ServicePolicy(p *platformv1alpha1.Partnership) (string, error) {
	return policyOf(p).Encode()
}

// policyOf converts a Partnership's policy and cost model to the services' policy. The API's defaults
// fill what the spec leaves out before it reaches here; the services fill the same defaults again.
func policyOf(p *platformv1alpha1.Partnership) config.Policy {
	sp := p.Spec.Policy
	target := func(t *platformv1alpha1.ResponseTarget) config.Target {
		if t == nil {
			return config.Target{}
		}
		return config.Target{Value: int(t.Value), Unit: string(t.Unit)}
	}
	out := config.Policy{Rules: config.Rules{
		ResponseTargets: config.ResponseTargets{Emergency: target(sp.ResponseTargets.Emergency), Urgent: target(sp.ResponseTargets.Urgent), Routine: target(sp.ResponseTargets.Routine)},
		MaxStayDays:     int(sp.MaxStayDays), RetentionDays: int(sp.RetentionDays), HousingBenefitClaimDays: int(sp.HousingBenefitClaimDays),
	}}
	if sp.LateEntryDays != nil {
		days := int(*sp.LateEntryDays)
		out.Rules.LateEntryDays = &days
	}
	if sp.FollowUpDays != nil {
		out.Rules.FollowUpDays = make([]int, len(sp.FollowUpDays))
		for i, d := range sp.FollowUpDays {
			out.Rules.FollowUpDays[i] = int(d)
		}
	}
	c := p.Spec.CostModel
	s := c.SavingsSplit
	out.CostModel = &config.CostModel{Currency: string(c.Currency), BedDayCost: string(c.BedDayCost),
		ResidentialCareWeekly: string(c.ResidentialCareWeekly), StepDownWeekly: string(c.StepDownWeekly),
		WaitingListBaselineDays: int(c.WaitingListBaselineDays), SchemeAnnualCost: string(c.SchemeAnnualCost),
		SavingsSplit: config.SavingsSplit{NHS: int(s.NHS), LocalAuthority: int(s.LocalAuthority), HousingProvider: int(s.HousingProvider)}}
	return out
}

// SessionLifespan is how long a staff session lasts: the Partnership's, or eight hours.
func SessionLifespan(p *platformv1alpha1.Partnership) time.Duration {
	if p.Spec.Identity.SessionLifespan != nil {
		return p.Spec.Identity.SessionLifespan.Duration
	}
	return defaultSessionLifespan
}

// ServiceSubcommand is the `homeward` subcommand that runs a component.
func ServiceSubcommand(component string) string {
	if component == ComponentHousing {
		return "housing"
	}
	return component
}
