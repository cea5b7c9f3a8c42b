package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/money"
)

// Units of a response target, as the Partnership API spells them.
const (
	UnitHours       = "Hours"
	UnitWorkingDays = "WorkingDays"
)

// Target is a response time in hours or in working days.
type Target struct {
	Value int    `json:"value"`
	Unit  string `json:"unit"`
}

func (t Target) String() string {
	if t.Unit == UnitHours {
		return fmt.Sprintf("%d hours", t.Value)
	}
	return fmt.Sprintf("%d working days", t.Value)
}

// ResponseTargets are the targets per referral priority.
type ResponseTargets struct {
	Emergency Target `json:"emergency"`
	Urgent    Target `json:"urgent"`
	Routine   Target `json:"routine"`
}

// SavingsSplit shares savings between the partners, in percent.
type SavingsSplit struct {
	NHS             int `json:"nhs"`
	LocalAuthority  int `json:"localAuthority"`
	HousingProvider int `json:"housingProvider"`
}

// CostModel is the partnership's cost model, money as decimal strings.
type CostModel struct {
	Currency                string       `json:"currency,omitempty"`
	BedDayCost              string       `json:"bedDayCost"`
	ResidentialCareWeekly   string       `json:"residentialCareWeekly"`
	StepDownWeekly          string       `json:"stepDownWeekly"`
	WaitingListBaselineDays int          `json:"waitingListBaselineDays"`
	SchemeAnnualCost        string       `json:"schemeAnnualCost"`
	SavingsSplit            SavingsSplit `json:"savingsSplit"`
}

// Rules are the partnership's policy fields, as in its spec.policy.
type Rules struct {
	ResponseTargets ResponseTargets `json:"responseTargets"`
	MaxStayDays     int             `json:"maxStayDays"`
	FollowUpDays    []int           `json:"followUpDays"`
	RetentionDays   int             `json:"retentionDays"`
	// HousingBenefitClaimDays flags a stay with no housing-benefit claim this long after arrival.
	HousingBenefitClaimDays int `json:"housingBenefitClaimDays"`
	// LateEntryDays is how many days back what already happened may be recorded (nil: the default).
	LateEntryDays *int `json:"lateEntryDays,omitempty"`
}

// LateEntryWindow is how many days back what already happened may be recorded.
func (r Rules) LateEntryWindow() int {
	if r.LateEntryDays == nil {
		return DefaultLateEntryDays
	}
	return *r.LateEntryDays
}

// EarliestEntry is the first day a late entry recorded today may be dated.
func (r Rules) EarliestEntry(today calendar.Date) calendar.Date {
	return today.AddDays(-r.LateEntryWindow())
}

// Policy is what a service needs of its Partnership's spec: HOMEWARD_POLICY holds it as JSON
// {"policy": spec.policy, "costModel": spec.costModel}.
type Policy struct {
	Rules     Rules      `json:"policy"`
	CostModel *CostModel `json:"costModel,omitempty"`
}

// Bounds of the policy fields. The Partnership API refuses values outside them (its CRD schema), and the
// services refuse them too; a test holds the two to the same numbers.
const (
	MinResponseTarget          = 1
	MaxResponseTarget          = 1000
	MinMaxStayDays             = 1
	MaxMaxStayDays             = 365
	MaxFollowUps               = 6
	MinFollowUpDay             = 1
	MaxFollowUpDay             = 730
	MinRetentionDays           = 30
	MaxRetentionDays           = 36525
	MinHousingBenefitClaimDays = 1
	MaxHousingBenefitClaimDays = 90
	MaxWaitingListBaselineDays = 3650
	MaxSavingsSplitPercent     = 100
	MaxLateEntryDays           = 366
	DefaultLateEntryDays       = 31
)

// DefaultPolicy is the Partnership API's defaults.
func DefaultPolicy() Policy {
	return Policy{Rules: Rules{
		ResponseTargets: ResponseTargets{
			Emergency: Target{24, UnitHours},
			Urgent:    Target{3, UnitWorkingDays},
			Routine:   Target{10, UnitWorkingDays},
		},
		MaxStayDays:             42,
		FollowUpDays:            []int{30, 91},
		RetentionDays:           2922,
		HousingBenefitClaimDays: 14,
	}}
}

// ParsePolicy reads HOMEWARD_POLICY, filling what it leaves out with the defaults.
func ParsePolicy(s string) (Policy, error) {
	p := DefaultPolicy()
	if s == "" {
		return p, nil
	}
	var in Policy
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return Policy{}, fmt.Errorf("policy is not valid JSON: %w", err)
	}
	targets := []*Target{&in.Rules.ResponseTargets.Emergency, &in.Rules.ResponseTargets.Urgent, &in.Rules.ResponseTargets.Routine}
	defaults := []Target{p.Rules.ResponseTargets.Emergency, p.Rules.ResponseTargets.Urgent, p.Rules.ResponseTargets.Routine}
	for i, t := range targets {
		if t.Unit == "" && t.Value == 0 {
			*t = defaults[i]
		}
	}
	if in.Rules.MaxStayDays == 0 {
		in.Rules.MaxStayDays = p.Rules.MaxStayDays
	}
	if in.Rules.FollowUpDays == nil {
		in.Rules.FollowUpDays = p.Rules.FollowUpDays
	}
	if in.Rules.RetentionDays == 0 {
		in.Rules.RetentionDays = p.Rules.RetentionDays
	}
	if in.Rules.HousingBenefitClaimDays == 0 {
		in.Rules.HousingBenefitClaimDays = p.Rules.HousingBenefitClaimDays
	}
	return in, in.Validate()
}

// Validate refuses a policy the services cannot apply: the Partnership API's bounds, checked again so
// that a service started by hand is held to them too.
func (p Policy) Validate() error {
	var errs []error
	between := func(name string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("%s must be %d to %d", name, lo, hi))
		}
	}
	for _, t := range []struct {
		name string
		t    Target
	}{{"emergency", p.Rules.ResponseTargets.Emergency}, {"urgent", p.Rules.ResponseTargets.Urgent}, {"routine", p.Rules.ResponseTargets.Routine}} {
		if t.t.Unit != UnitHours && t.t.Unit != UnitWorkingDays {
			errs = append(errs, fmt.Errorf("policy.responseTargets.%s.unit must be %s or %s", t.name, UnitHours, UnitWorkingDays))
		}
		between("policy.responseTargets."+t.name+".value", t.t.Value, MinResponseTarget, MaxResponseTarget)
	}
	between("policy.maxStayDays", p.Rules.MaxStayDays, MinMaxStayDays, MaxMaxStayDays)
	if len(p.Rules.FollowUpDays) > MaxFollowUps {
		errs = append(errs, fmt.Errorf("policy.followUpDays must have at most %d days", MaxFollowUps))
	}
	if !slices.IsSorted(p.Rules.FollowUpDays) || slices.ContainsFunc(p.Rules.FollowUpDays, func(d int) bool { return d < MinFollowUpDay || d > MaxFollowUpDay }) {
		errs = append(errs, fmt.Errorf("policy.followUpDays must be positive and ascending, from %d to %d days", MinFollowUpDay, MaxFollowUpDay))
	}
	between("policy.retentionDays", p.Rules.RetentionDays, MinRetentionDays, MaxRetentionDays)
	between("policy.housingBenefitClaimDays", p.Rules.HousingBenefitClaimDays, MinHousingBenefitClaimDays, MaxHousingBenefitClaimDays)
	between("policy.lateEntryDays", p.Rules.LateEntryWindow(), 0, MaxLateEntryDays)
	if c := p.CostModel; c != nil {
		for name, v := range map[string]string{"bedDayCost": c.BedDayCost, "residentialCareWeekly": c.ResidentialCareWeekly, "stepDownWeekly": c.StepDownWeekly, "schemeAnnualCost": c.SchemeAnnualCost} {
			if _, err := money.Parse(v); err != nil {
				errs = append(errs, fmt.Errorf("costModel.%s: %w", name, err))
			}
		}
		between("costModel.waitingListBaselineDays", c.WaitingListBaselineDays, 0, MaxWaitingListBaselineDays)
		s := c.SavingsSplit
		for name, v := range map[string]int{"nhs": s.NHS, "localAuthority": s.LocalAuthority, "housingProvider": s.HousingProvider} {
			between("costModel.savingsSplit."+name, v, 0, MaxSavingsSplitPercent)
		}
		if s.NHS+s.LocalAuthority+s.HousingProvider != 100 {
			errs = append(errs, errors.New("costModel.savingsSplit must sum to 100"))
		}
	}
	return errors.Join(errs...)
}

// Encode is the policy as HOMEWARD_POLICY holds it.
func (p Policy) Encode() (string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("encode the policy: %w", err)
	}
	return string(b), nil
}

// Retention is how long a closed case keeps its personal data.
func (p Policy) Retention() time.Duration {
	return time.Duration(p.Rules.RetentionDays) * 24 * time.Hour
}
