package verify

// This file: random Partnership manifests, each a valid one with a few fields given odd values or
// the wrong type, sent to the real API server with the operator running. The schema and its CEL
// rules must refuse the bad ones as a client error (never a 500), and every manifest they let in
// must be reconciled to a Ready condition that is not a failure to make its objects: nothing the API
// accepts may stall, crash or defeat the operator.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	platformv1alpha1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/internal/testenv"
)

// manifestFields are the places a mutation may land, as paths into the manifest.
var manifestFields = [][]string{
	{"spec", "displayName"}, {"spec", "region"}, {"spec", "host"},
	{"spec", "partners"}, {"spec", "partners", "0", "name"}, {"spec", "partners", "0", "type"}, {"spec", "partners", "1", "odsCode"},
	{"spec", "admins"}, {"spec", "admins", "0", "email"}, {"spec", "admins", "0", "name"},
	{"spec", "policy", "maxStayDays"}, {"spec", "policy", "followUpDays"}, {"spec", "policy", "retentionDays"},
	{"spec", "policy", "lateEntryDays"}, {"spec", "policy", "housingBenefitClaimDays"},
	{"spec", "policy", "responseTargets", "urgent", "value"}, {"spec", "policy", "responseTargets", "urgent", "unit"},
	{"spec", "costModel", "currency"}, {"spec", "costModel", "bedDayCost"}, {"spec", "costModel", "stepDownWeekly"},
	{"spec", "costModel", "waitingListBaselineDays"}, {"spec", "costModel", "savingsSplit", "nhs"},
	{"spec", "costModel", "savingsSplit", "localAuthority"}, {"spec", "services", "referral"}, {"spec", "services", "portal"},
	{"spec", "storage", "redis", "appendFsync"}, {"spec", "storage", "redis", "size"}, {"spec", "storage", "redis", "storageClassName"},
	{"spec", "identity", "allowedEmailDomains"}, {"spec", "unknownField"}, {"spec"},
}

// oddValue is a value of any JSON type, often at or past a boundary.
func oddValue(rng *rand.Rand) any {
	values := []any{
		"", " ", " padded ", strings.Repeat("x", 101), strings.Repeat("y", 5000), "ü", "\u0000", "<script>", "Hours", "WorkingDays",
		"536.77", "536.777", "-5.00", "1e3", "0.00", "GBP", "EUR", "always", "everysec", "never", "5Gi", "-1Gi", "lots",
		"kirklees.example", "UPPER.example", "a..example", "admin@kirklees.example", "not-an-email", "RWY", "rwy", "LocalAuthority",
		-1, 0, 1, 7, 20, 21, 42, 365, 366, 1000, 1001, 36525, 36526, 1 << 31, 1e20, 3.5, -0.0,
		true, false, nil, []any{}, []any{30, 91}, []any{91, 30}, []any{30, 30}, []any{1, 2, 3, 4, 5, 6, 7},
		[]any{"a.example", "a.example"}, []any{map[string]any{"name": "X", "type": "NHSTrust"}, map[string]any{"name": "X", "type": "NHSTrust"}},
		map[string]any{}, map[string]any{"email": "x@y.example"},
	}
	return values[rng.IntN(len(values))]
}

// setPath sets a value at a path, making maps and growing lists on the way.
func setPath(doc map[string]any, path []string, value any) {
	var at any = doc
	for i, key := range path {
		last := i == len(path)-1
		switch node := at.(type) {
		case map[string]any:
			if last {
				node[key] = value
				return
			}
			if _, ok := node[key]; !ok {
				node[key] = map[string]any{}
			}
			at = node[key]
		case []any:
			var idx int
			if _, err := fmt.Sscan(key, &idx); err != nil || idx >= len(node) {
				return
			}
			if last {
				node[idx] = value
				return
			}
			at = node[idx]
		default:
			return // an earlier mutation made this a scalar
		}
	}
}

func TestRandomPartnershipManifestsAreRefusedOrReconciled(t *testing.T) {
	record(t)
	cp := provision(t)
	c := apiClient(t, cp.Config)
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 17))
	t.Logf("seed %d", seed)

	const manifests = 120
	var accepted []string
	refused := map[string]int{}
	for i := range manifests {
		base := testenv.Partnership(fmt.Sprintf("fuzz%03d", i))
		raw, err := json.Marshal(base)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		doc["apiVersion"], doc["kind"] = platformv1alpha1.GroupVersion.String(), "Partnership"
		delete(doc, "status")
		for range 1 + rng.IntN(3) {
			setPath(doc, manifestFields[rng.IntN(len(manifestFields))], oddValue(rng))
		}
		manifest, _ := json.Marshal(doc)
		err = c.Create(ctx, &unstructured.Unstructured{Object: doc})
		switch {
		case err == nil:
			accepted = append(accepted, base.Name)
		case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
			refused[string(apierrors.ReasonForError(err))]++
			if strings.TrimSpace(err.Error()) == "" {
				t.Errorf("refused without a message: %s", manifest)
			}
		default:
			t.Errorf("not a client error (%s): %v\nmanifest: %s", apierrors.ReasonForError(err), err, manifest)
		}
	}
	t.Logf("%d manifests: %d accepted, refused %v", manifests, len(accepted), refused)
	if len(accepted) == 0 || len(accepted) == manifests {
		t.Fatalf("%d of %d accepted: the mutations proved nothing", len(accepted), manifests)
	}
	// Every accepted manifest is reconciled: a Ready condition for its current generation.
	deadline := time.Now().Add(3 * time.Minute)
	for _, name := range accepted {
		for {
			var p platformv1alpha1.Partnership
			err := c.Get(ctx, client.ObjectKey{Name: name}, &p)
			if err == nil {
				cond := meta.FindStatusCondition(p.Status.Conditions, platformv1alpha1.ConditionReady)
				if cond != nil && cond.ObservedGeneration == p.Generation {
					// The API let it in, so the operator must be able to make its objects.
					if cond.Reason == platformv1alpha1.ReasonApplyFailed || cond.Reason == platformv1alpha1.ReasonFailed {
						spec, _ := json.Marshal(p.Spec)
						t.Errorf("%s was accepted, yet the operator cannot provision it: %s: %s\nspec %s", name, cond.Reason, cond.Message, spec)
					}
					break
				}
			}
			if time.Now().After(deadline) {
				spec, _ := json.Marshal(p.Spec)
				t.Fatalf("%s was accepted but never reconciled (%v); spec %s; conditions %+v", name, err, spec, p.Status.Conditions)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
