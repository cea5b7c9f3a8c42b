package controllers

import (
	"reflect"
	"testing"

	v1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/services/kit/config"
)

// zeroLeaves lists the fields of v left at their zero value, by path.
func zeroLeaves(v reflect.Value, path string) []string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return []string{path}
		}
		return zeroLeaves(v.Elem(), path)
	case reflect.Struct:
		var out []string
		for i := range v.NumField() {
			out = append(out, zeroLeaves(v.Field(i), path+"."+v.Type().Field(i).Name)...)
		}
		return out
	case reflect.Slice:
		if v.Len() == 0 {
			return []string{path}
		}
		return nil
	default:
		if v.IsZero() {
			return []string{path}
		}
		return nil
	}
}

// Every field of a Partnership's policy and cost model reaches the services, and what they read
// back is what the Partnership says.
func TestThePartnershipsPolicyReachesTheServicesWhole(t *testing.T) {
	p := &v1.Partnership{Spec: v1.PartnershipSpec{
		Policy: v1.Policy{
			ResponseTargets: v1.ResponseTargets{Emergency: &v1.ResponseTarget{Value: 12, Unit: v1.UnitHours},
				Urgent: &v1.ResponseTarget{Value: 2, Unit: v1.UnitWorkingDays}, Routine: &v1.ResponseTarget{Value: 7, Unit: v1.UnitWorkingDays}},
			MaxStayDays: 56, FollowUpDays: []int32{28, 90}, RetentionDays: 3000, HousingBenefitClaimDays: 10, LateEntryDays: ptrTo[int32](14),
		},
		CostModel: v1.CostModel{Currency: "GBP", BedDayCost: "536.77", ResidentialCareWeekly: "1200.50", StepDownWeekly: "350",
			WaitingListBaselineDays: 129, SchemeAnnualCost: "250000", SavingsSplit: v1.SavingsSplit{NHS: 50, LocalAuthority: 30, HousingProvider: 20}},
	}}
	converted := policyOf(p)
	if zero := zeroLeaves(reflect.ValueOf(converted), "Policy"); len(zero) > 0 {
		t.Errorf("fields the conversion leaves out: %v", zero)
	}
	encoded, err := ServicePolicy(p)
	if err != nil {
		t.Fatal(err)
	}
	read, err := config.ParsePolicy(encoded)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(read, converted) {
		t.Errorf("the services read\n%+v\nfrom a Partnership saying\n%+v", read, converted)
	}
	if read.Rules.ResponseTargets.Urgent != (config.Target{Value: 2, Unit: config.UnitWorkingDays}) || read.CostModel.SavingsSplit.HousingProvider != 20 {
		t.Errorf("read %+v", read)
	}
}

func ptrTo[T any](v T) *T { return &v }
