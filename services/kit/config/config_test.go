package config

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	password := write("password", "s3cret\n")
	key := write("key", base64.StdEncoding.EncodeToString(make([]byte, 32)))
	badKey := write("badkey", "bm90IDMyIGJ5dGVz")
	empty := write("empty", "")
	env := map[string]string{
		"HOMEWARD_PARTNERSHIP":         "oldham",
		"HOMEWARD_REDIS_ADDR":          "127.0.0.1:6379",
		"HOMEWARD_REDIS_PASSWORD_FILE": password,
		"HOMEWARD_PII_KEY_FILE":        key,
		"HOMEWARD_KRATOS_PUBLIC_URL":   "http://127.0.0.1:4433",
	}
	getenv := func(k string) string { return env[k] }

	c, err := Parse("referral", nil, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Partnership != "oldham" || c.RedisUser != "referral" || c.RedisPassword != "s3cret" || len(c.PIIKey) != 32 || c.Listen != ":8080" {
		t.Errorf("config = %+v", c)
	}
	if got := c.Policy.Rules.ResponseTargets.Urgent; got != (Target{3, UnitWorkingDays}) {
		t.Errorf("default urgent target = %v", got)
	}

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"missing everything", []string{"--partnership=", "--redis-addr=", "--redis-password-file=", "--pii-key-file=", "--kratos-public-url="},
			[]string{"--partnership (or HOMEWARD_PARTNERSHIP) is required", "--redis-addr", "--redis-password-file", "--pii-key-file", "--kratos-public-url"}},
		{"bad values", []string{"--partnership=Oldham!", "--redis-addr=nohost", "--kratos-public-url=ftp://x", "--log-level=loud", "--shutdown-grace=soon", "--trace-sample-ratio=1.5"},
			[]string{`partnership "Oldham!"`, `redis-addr "nohost"`, `kratos-public-url "ftp://x"`, `log-level "loud"`, `shutdown-grace "soon"`, `trace-sample-ratio "1.5"`}},
		{"bad files", []string{"--pii-key-file=" + badKey, "--redis-password-file=" + empty},
			[]string{"must be 32 bytes", "is empty"}},
		{"missing file", []string{"--pii-key-file=" + filepath.Join(dir, "nope")}, []string{"no such file"}},
		{"bad policy", []string{`--policy={"policy":{"responseTargets":{"urgent":{"value":3,"unit":"Weeks"}},"followUpDays":[91,30]},"costModel":{"bedDayCost":"12.345","residentialCareWeekly":"1","stepDownWeekly":"1","schemeAnnualCost":"1","savingsSplit":{"nhs":50}}}`},
			[]string{"urgent.unit must be", "followUpDays must be positive and ascending", "costModel.bedDayCost", "savingsSplit must sum to 100"}},
		{"policy not JSON", []string{"--policy={"}, []string{"policy is not valid JSON"}},
		{"stray argument", []string{"serve"}, []string{"unexpected arguments: serve"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("referral", tt.args, getenv)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestParsePolicyKeepsGivenValues(t *testing.T) {
	p, err := ParsePolicy(`{"policy":{"responseTargets":{"emergency":{"value":48,"unit":"Hours"}},"maxStayDays":56,"followUpDays":[]},"costModel":{"currency":"GBP","bedDayCost":"345.00","residentialCareWeekly":"536.77","stepDownWeekly":"203.77","waitingListBaselineDays":129,"schemeAnnualCost":"250000","savingsSplit":{"nhs":50,"localAuthority":30,"housingProvider":20}}}`)
	if err != nil {
		t.Fatal(err)
	}
	if p.Rules.ResponseTargets.Emergency.Value != 48 || p.Rules.ResponseTargets.Routine.Value != 10 || p.Rules.MaxStayDays != 56 || len(p.Rules.FollowUpDays) != 0 || p.CostModel.WaitingListBaselineDays != 129 {
		t.Errorf("policy = %+v", p)
	}
}
