package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"
)

// schema is the part of an OpenAPI schema the bounds live in.
type schema struct {
	Minimum    *float64          `json:"minimum"`
	Maximum    *float64          `json:"maximum"`
	MaxItems   *int              `json:"maxItems"`
	Default    json.RawMessage   `json:"default"`
	Items      *schema           `json:"items"`
	Properties map[string]schema `json:"properties"`
}

func (s schema) at(t *testing.T, path ...string) schema {
	t.Helper()
	for _, p := range path {
		next, ok := s.Properties[p]
		if !ok {
			t.Fatalf("the CRD has no %v", path)
		}
		s = next
	}
	return s
}

// The Partnership API (its CRD) and the services must agree on every policy bound and default:
// a value the API takes must be one the services take, and a service started without a policy
// must behave as a Partnership that leaves it out.
func TestPolicyBoundsAndDefaultsAreThePartnershipAPIs(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "config", "crd", "bases", "platform.homeward.dev_partnerships.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Schema struct {
					OpenAPIV3Schema schema `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(b, &crd); err != nil {
		t.Fatal(err)
	}
	spec := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.at(t, "spec")
	policy, cost := spec.at(t, "policy"), spec.at(t, "costModel")
	num := func(f *float64) int {
		if f == nil {
			return -1
		}
		return int(*f)
	}
	def := DefaultPolicy()
	for _, c := range []struct {
		name             string
		s                schema
		min, max         int
		defaultJSON      any
		defaultsInSchema bool
	}{
		{"maxStayDays", policy.at(t, "maxStayDays"), MinMaxStayDays, MaxMaxStayDays, def.Rules.MaxStayDays, true},
		{"retentionDays", policy.at(t, "retentionDays"), MinRetentionDays, MaxRetentionDays, def.Rules.RetentionDays, true},
		{"housingBenefitClaimDays", policy.at(t, "housingBenefitClaimDays"), MinHousingBenefitClaimDays, MaxHousingBenefitClaimDays, def.Rules.HousingBenefitClaimDays, true},
		{"lateEntryDays", policy.at(t, "lateEntryDays"), 0, MaxLateEntryDays, def.Rules.LateEntryWindow(), true},
		{"followUpDays[]", *policy.at(t, "followUpDays").Items, MinFollowUpDay, MaxFollowUpDay, nil, false},
		{"responseTargets.emergency.value", policy.at(t, "responseTargets", "emergency", "value"), MinResponseTarget, MaxResponseTarget, nil, false},
		{"responseTargets.urgent.value", policy.at(t, "responseTargets", "urgent", "value"), MinResponseTarget, MaxResponseTarget, nil, false},
		{"responseTargets.routine.value", policy.at(t, "responseTargets", "routine", "value"), MinResponseTarget, MaxResponseTarget, nil, false},
		{"costModel.waitingListBaselineDays", cost.at(t, "waitingListBaselineDays"), 0, MaxWaitingListBaselineDays, nil, false},
		{"costModel.savingsSplit.nhs", cost.at(t, "savingsSplit", "nhs"), 0, MaxSavingsSplitPercent, nil, false},
		{"costModel.savingsSplit.localAuthority", cost.at(t, "savingsSplit", "localAuthority"), 0, MaxSavingsSplitPercent, nil, false},
		{"costModel.savingsSplit.housingProvider", cost.at(t, "savingsSplit", "housingProvider"), 0, MaxSavingsSplitPercent, nil, false},
	} {
		if num(c.s.Minimum) != c.min || num(c.s.Maximum) != c.max {
			t.Errorf("%s: the CRD takes %d to %d, the services %d to %d", c.name, num(c.s.Minimum), num(c.s.Maximum), c.min, c.max)
		}
		if c.defaultsInSchema {
			want, _ := json.Marshal(c.defaultJSON)
			if string(c.s.Default) != string(want) {
				t.Errorf("%s: the CRD defaults to %s, the services to %s", c.name, c.s.Default, want)
			}
		}
	}
	followUps := policy.at(t, "followUpDays")
	if followUps.MaxItems == nil || *followUps.MaxItems != MaxFollowUps {
		t.Errorf("followUpDays: the CRD takes at most %v, the services %d", followUps.MaxItems, MaxFollowUps)
	}
	if want, _ := json.Marshal(def.Rules.FollowUpDays); string(followUps.Default) != string(want) {
		t.Errorf("followUpDays: the CRD defaults to %s, the services to %s", followUps.Default, want)
	}
	for name, target := range map[string]Target{"emergency": def.Rules.ResponseTargets.Emergency, "urgent": def.Rules.ResponseTargets.Urgent, "routine": def.Rules.ResponseTargets.Routine} {
		var got Target
		if err := json.Unmarshal(policy.at(t, "responseTargets", name).Default, &got); err != nil || got != target {
			t.Errorf("responseTargets.%s: the CRD defaults to %s, the services to %v", name, policy.at(t, "responseTargets", name).Default, target)
		}
	}
}

// What a runtime puts in a process's environment is what the process reads back.
func TestTheEnvironmentARuntimeWritesParsesBack(t *testing.T) {
	dir := t.TempDir()
	password, key := filepath.Join(dir, "password"), filepath.Join(dir, "key")
	if err := os.WriteFile(password, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, []byte("MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="), 0o600); err != nil {
		t.Fatal(err)
	}
	policy, err := DefaultPolicy().Encode()
	if err != nil {
		t.Fatal(err)
	}
	in := Config{Partnership: "oldham", Listen: "127.0.0.1:8081", RedisAddr: "127.0.0.1:6379", RedisUser: "portal",
		RedisPasswordFile: password, PIIKeyFile: key, KratosPublicURL: "http://127.0.0.1:4433", OTLPEndpoint: "127.0.0.1:4317",
		TraceSampleRatio: "0.25", PolicyJSON: policy, LogLevel: "debug", ShutdownGrace: 7e9,
		ReferralURL: "http://127.0.0.1:1", HousingURL: "http://127.0.0.1:2", ReportingURL: "http://127.0.0.1:3"}
	env := map[string]string{}
	for _, v := range in.Environ() {
		env[v.Name] = v.Value
	}
	out, err := Parse("portal", nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	out.RedisPassword, out.PIIKey, out.Policy = "", nil, Policy{}
	in.Policy = Policy{}
	if out.Partnership != in.Partnership || out.Listen != in.Listen || out.RedisAddr != in.RedisAddr || out.RedisUser != in.RedisUser ||
		out.RedisPasswordFile != in.RedisPasswordFile || out.PIIKeyFile != in.PIIKeyFile || out.KratosPublicURL != in.KratosPublicURL ||
		out.OTLPEndpoint != in.OTLPEndpoint || out.PolicyJSON != in.PolicyJSON || out.LogLevel != in.LogLevel || out.ShutdownGrace != in.ShutdownGrace ||
		out.ReferralURL != in.ReferralURL || out.HousingURL != in.HousingURL || out.ReportingURL != in.ReportingURL ||
		out.TraceSampleRatio != in.TraceSampleRatio || out.SampleRatio == nil || *out.SampleRatio != 0.25 {
		t.Errorf("wrote %+v\nread  %+v", in, out)
	}
}
