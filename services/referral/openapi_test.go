package referral

import (
	"testing"

	"github.com/homeward-dev/homeward/services/kit/servicetest"
)

func (f *fixture) testOpenAPI(t *testing.T) {
	servicetest.CheckOpenAPI(t, OpenAPI(), f.svc.app, f.base)
}
