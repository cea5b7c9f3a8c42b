package testenv

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	platformv1alpha1 "github.com/homeward-dev/homeward/api/v1alpha1"
)

// Partnership returns a valid Partnership with only the required fields set (shaped like the
// Kirklees scheme), for tests to adjust.
func Partnership(name string) *platformv1alpha1.Partnership {
	return &platformv1alpha1.Partnership{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: platformv1alpha1.PartnershipSpec{
			DisplayName: "Test partnership " + name,
			Host:        name + ".homeward.example",
			Partners: []platformv1alpha1.Partner{
				{Name: "Kirklees Council", Type: platformv1alpha1.PartnerLocalAuthority},
				{Name: "Calderdale and Huddersfield NHS Foundation Trust", Type: platformv1alpha1.PartnerNHSTrust, ODSCode: "RWY"},
			},
			Admins: []platformv1alpha1.Admin{{Email: "admin@" + name + ".example", Name: "Test Admin"}},
			CostModel: platformv1alpha1.CostModel{
				BedDayCost:              "345.00",
				ResidentialCareWeekly:   "536.77",
				StepDownWeekly:          "203.77",
				WaitingListBaselineDays: 129,
				SchemeAnnualCost:        "74375.00",
				SavingsSplit:            platformv1alpha1.SavingsSplit{NHS: 30, LocalAuthority: 60, HousingProvider: 10},
			},
		},
	}
}
