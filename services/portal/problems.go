package portal

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"

	"github.com/homeward-dev/homeward/clients/referral"
)

var problemType = reflect.TypeFor[referral.Problem]()

// problemOf reads a service's problem answer out of any of the generated clients' typed problem
// responses: each is a named copy of the one Problem schema, the referral client's directly
// convertible, the other services' clients' read back through their JSON.
func problemOf(res any) (*referral.Problem, bool) {
	v := reflect.ValueOf(res)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return nil, false
	}
	if v.Elem().Type().ConvertibleTo(problemType) {
		pr := v.Elem().Convert(problemType).Interface().(referral.Problem)
		return &pr, true
	}
	if !strings.HasSuffix(v.Elem().Type().Name(), "Problem") && !isProblemResponse(v.Elem().Type().Name()) {
		return nil, false
	}
	b, err := json.Marshal(res)
	if err != nil {
		return nil, false
	}
	var pr referral.Problem
	if err := pr.UnmarshalJSON(b); err != nil || pr.Status == 0 {
		return nil, false
	}
	return &pr, true
}

// isProblemResponse reports whether a generated response type is one of a service's refusals, which
// the generated clients name after the status they answer.
func isProblemResponse(name string) bool {
	for _, status := range []string{"BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict", "PreconditionFailed",
		"UnprocessableEntity", "TooManyRequests", "ServiceUnavailable", "RequestEntityTooLarge", "UnsupportedMediaType", "PreconditionRequired"} {
		if strings.HasSuffix(name, status) {
			return true
		}
	}
	return false
}

// answerProblem turns a service's refusal into a page: not authorised, not found, changed meanwhile,
// or the service's own explanation.
func (p *Portal) answerProblem(w http.ResponseWriter, r *http.Request, res any) {
	pr, ok := problemOf(res)
	if !ok {
		p.fail(w, r, http.StatusBadGateway, errUnexpected{res})
		return
	}
	switch pr.Status {
	case http.StatusForbidden:
		p.notAuthorised(w, r)
	case http.StatusNotFound:
		p.render(w, r, http.StatusNotFound, "problem", view{Title: "Page not found", Message: "There is no record at this address, or it has been removed."})
	case http.StatusPreconditionFailed:
		p.render(w, r, http.StatusConflict, "problem", view{Title: "Someone changed this record while you were working on it",
			Message: "Nothing you sent was saved. Go back to the record, which now shows their change, and make yours again."})
	case http.StatusServiceUnavailable:
		p.fail(w, r, http.StatusServiceUnavailable, errUnexpected{res})
	case http.StatusUnauthorized:
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	default:
		msg := pr.Detail.Value
		for _, e := range pr.Errors {
			msg += " " + e.Field.Value + ": " + e.Message.Value + "."
		}
		status := http.StatusUnprocessableEntity
		if pr.Status == http.StatusConflict { // a clash or a move the record's state does not allow
			status = http.StatusConflict
		}
		p.render(w, r, status, "problem", view{Title: pr.Title, Message: msg})
	}
}

type errUnexpected struct{ res any }

func (e errUnexpected) Error() string {
	return "unexpected answer from a service: " + reflect.TypeOf(e.res).String()
}

// expect reads a service's answer as the wanted type; otherwise it answers the page itself (the
// service unreachable, or its problem) and reports false.
func expect[T any](p *Portal, w http.ResponseWriter, r *http.Request, res any, err error) (*T, bool) {
	if err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, err)
		return nil, false
	}
	if got, ok := res.(*T); ok {
		return got, true
	}
	p.answerProblem(w, r, res)
	return nil, false
}
