package portal

import (
	"errors"
	"net/http"
	"strings"

	"github.com/homeward-dev/homeward/internal/kratosserver"
)

// flowPage is a Kratos self-service flow rendered as a portal page.
type flowPage struct {
	Flow    *flow
	Heading string
	Lead    string
	Submit  string
}

// selfService renders a flow of kind; without a flow id (or with one that expired) it starts a new
// browser flow through the proxy, which sends the browser back here with one.
func (p *Portal) selfService(kind, title, lead, submit string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("flow")
		if id == "" {
			start := kratosserver.PortalKratosPath + "self-service/" + kind + "/browser"
			if kind == "login" && r.URL.Query().Get("refresh") == "true" {
				start += "?refresh=true"
			}
			http.Redirect(w, r, start, http.StatusSeeOther)
			return
		}
		f, err := p.identity.getFlow(r.Context(), r, kind, id)
		if errors.Is(err, errFlowGone) && !hasCSRFCookie(r) {
			// Starting again would loop: a browser that keeps no cookies cannot sign in.
			p.render(w, r, http.StatusBadRequest, "problem", view{Title: "Your browser must accept cookies to sign in",
				Message: "Signing in needs the cookies described on the cookies page. Allow cookies for this site, then sign in again."})
			return
		}
		if errors.Is(err, errFlowGone) {
			http.Redirect(w, r, kratosserver.PortalKratosPath+"self-service/"+kind+"/browser", http.StatusSeeOther)
			return
		}
		if err != nil {
			p.fail(w, r, http.StatusServiceUnavailable, err)
			return
		}
		var errs []fieldError
		for _, n := range f.UI.Nodes {
			for _, m := range n.Messages {
				if m.Type == "error" {
					errs = append(errs, fieldError{Field: n.Attributes.Name, Href: "#" + fieldID(n.Attributes.Name), Text: m.Text})
				}
			}
		}
		for _, m := range f.UI.Messages {
			if m.Type == "error" {
				errs = append(errs, fieldError{Text: m.Text})
			}
		}
		p.render(w, r, http.StatusOK, "flow", view{Title: title, Errors: errs,
			Data: flowPage{Flow: f, Heading: title, Lead: lead, Submit: submit}})
	}
}

func (p *Portal) login(w http.ResponseWriter, r *http.Request) {
	p.selfService("login", "Sign in", "Sign in with the email address your partnership invited.", "Sign in")(w, r)
}

func (p *Portal) recovery(w http.ResponseWriter, r *http.Request) {
	p.selfService("recovery", "Set up or recover your account",
		"Enter the code from your invitation or recovery email. You then choose a password.", "Continue")(w, r)
}

func (p *Portal) settings(w http.ResponseWriter, r *http.Request) {
	p.selfService("settings", "Change your password", "Choose a password of at least 8 characters that you do not use elsewhere.", "Save password")(w, r)
}

func (p *Portal) kratosError(w http.ResponseWriter, r *http.Request) {
	msg := p.identity.flowError(r.Context(), r.URL.Query().Get("id"))
	if msg == "" {
		msg = "Something went wrong while signing in. Start again."
	}
	p.render(w, r, http.StatusOK, "problem", view{Title: "There is a problem signing in", Message: msg})
}

// signOut ends the session through Kratos, which clears the cookie and sends the browser to /signed-out.
func (p *Portal) signOut(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(sessionCookie); err != nil {
		http.Redirect(w, r, "/signed-out", http.StatusSeeOther)
		return
	}
	if !p.checkCSRF(r) {
		p.render(w, r, http.StatusForbidden, "problem", view{Title: "Your form could not be sent",
			Message: "The form had expired or did not come from this portal. Go back, reload the page and try again."})
		return
	}
	u, err := p.identity.logoutURL(r.Context(), r)
	if err != nil {
		http.Redirect(w, r, "/signed-out", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// fieldID is the HTML id of a flow's input, for the error summary's links.
func fieldID(name string) string {
	if name == "" {
		return "main-content"
	}
	out := []byte("field-")
	for _, c := range []byte(name) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			out = append(out, c)
		} else {
			out = append(out, '-')
		}
	}
	return string(out)
}

// hasCSRFCookie reports whether the browser returned the anti-forgery cookie Kratos set when the flow began.
func hasCSRFCookie(r *http.Request) bool {
	for _, c := range r.Cookies() {
		if strings.HasPrefix(c.Name, "csrf_token") {
			return true
		}
	}
	return false
}
