package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/homeward-dev/homeward/internal/money"
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
}

// Policy is what a service needs of its Partnership's spec: HOMEWARD_POLICY holds it as JSON
// {"policy": spec.policy, "costModel": spec.costModel}.
type Policy struct {
	Rules     Rules      `json:"policy"`
	CostModel *CostModel `json:"costModel,omitempty"`
}

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

// Validate refuses a policy the services cannot apply.
func (p Policy) Validate() error {
	var errs []error
	for name, t := range map[string]Target{"emergency": p.Rules.ResponseTargets.Emergency, "urgent": p.Rules.ResponseTargets.Urgent, "routine": p.Rules.ResponseTargets.Routine} {
		if t.Unit != UnitHours && t.Unit != UnitWorkingDays {
			errs = append(errs, fmt.Errorf("policy.responseTargets.%s.unit must be %s or %s", name, UnitHours, UnitWorkingDays))
		}
		if t.Value < 1 || t.Value > 8760 {
			errs = append(errs, fmt.Errorf("policy.responseTargets.%s.value must be 1 to 8760", name))
		}
	}
	if p.Rules.MaxStayDays < 1 {
		errs = append(errs, errors.New("policy.maxStayDays must be at least 1"))
	}
	if !slices.IsSorted(p.Rules.FollowUpDays) || slices.ContainsFunc(p.Rules.FollowUpDays, func(d int) bool { return d < 1 }) {
		errs = append(errs, errors.New("policy.followUpDays must be positive and ascending"))
	}
	if p.Rules.RetentionDays < 1 {
		errs = append(errs, errors.New("policy.retentionDays must be at least 1"))
	}
	if p.Rules.HousingBenefitClaimDays < 1 {
		errs = append(errs, errors.New("policy.housingBenefitClaimDays must be at least 1"))
	}
	if c := p.CostModel; c != nil {
		for name, v := range map[string]string{"bedDayCost": c.BedDayCost, "residentialCareWeekly": c.ResidentialCareWeekly, "stepDownWeekly": c.StepDownWeekly, "schemeAnnualCost": c.SchemeAnnualCost} {
			if _, err := money.Parse(v); err != nil {
				errs = append(errs, fmt.Errorf("costModel.%s: %w", name, err))
			}
		}
		if s := c.SavingsSplit; s.NHS+s.LocalAuthority+s.HousingProvider != 100 {
			errs = append(errs, errors.New("costModel.savingsSplit must sum to 100"))
		}
	}
	return errors.Join(errs...)
}

// Retention is how long a closed case keeps its personal data.
func (p Policy) Retention() time.Duration {
	return time.Duration(p.Rules.RetentionDays) * 24 * time.Hour
}
