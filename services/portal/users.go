package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"

	kratos "github.com/ory/kratos-client-go"

	"go.opentelemetry.io/otel/trace"

	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/keyspace"
	"github.com/homeward-dev/homeward/services/portal/ui"
)

// Staff identities are managed through Kratos' admin API, from the portal's server side only: the
// admin API is never proxied, and every call is made after the guard has found a partnership admin.

// staffUser is a staff identity of this partnership, as the users pages show it.
type staffUser struct {
	ID, Email, Name string
	Roles           []string
	Active          bool
}

const (
	stateActive   = "active"
	stateInactive = "inactive"
	// invitationLifespan is how long an invitation link works.
	invitationLifespan = "72h"
)

// userOf reads a Kratos identity; ok is false when it is not this partnership's.
func (p *Portal) userOf(id kratos.Identity) (staffUser, bool) {
	u := staffUser{ID: id.Id, Active: id.State == nil || *id.State == stateActive}
	if traits, ok := id.Traits.(map[string]any); ok {
		u.Email, _ = traits["email"].(string)
		u.Name, _ = traits["name"].(string)
	}
	meta, _ := id.MetadataPublic.(map[string]any)
	if meta == nil || meta[auth.MetadataPartnership] != p.app.Config.Partnership {
		return u, false
	}
	if roles, ok := meta[auth.MetadataRoles].([]any); ok {
		for _, r := range roles {
			if name, ok := r.(string); ok && auth.KnownRole(auth.Role(name)) {
				u.Roles = append(u.Roles, name)
			}
		}
	}
	return u, true
}

// staff lists the partnership's identities, page by page.
func (p *Portal) staff(ctx context.Context) ([]staffUser, error) {
	var out []staffUser
	token := ""
	for {
		req := p.kratosAdmin.IdentityAPI.ListIdentities(ctx).PageSize(500)
		if token != "" {
			req = req.PageToken(token)
		}
		ids, resp, err := req.Execute()
		if err != nil {
			return nil, fmt.Errorf("list identities: %w", kratosserver.DescribeError(resp, err))
		}
		for _, id := range ids {
			if u, ok := p.userOf(id); ok {
				out = append(out, u)
			}
		}
		token = nextPageToken(resp)
		if token == "" || len(ids) == 0 {
			slices.SortFunc(out, func(a, b staffUser) int { return strings.Compare(a.Email, b.Email) })
			return out, nil
		}
	}
}

// nextPageToken reads Kratos' Link header for the next page's token.
func nextPageToken(resp *http.Response) string {
	if resp == nil {
		return ""
	}
	for _, link := range strings.Split(resp.Header.Get("Link"), ",") {
		if !strings.Contains(link, `rel="next"`) {
			continue
		}
		start, end := strings.Index(link, "<"), strings.Index(link, ">")
		if start < 0 || end < start {
			return ""
		}
		if u, err := url.Parse(link[start+1 : end]); err == nil {
			return u.Query().Get("page_token")
		}
	}
	return ""
}

func (p *Portal) users(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.require(w, r, auth.UsersManage); !ok {
		return
	}
	list, err := p.staff(r.Context())
	if err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	t := &ui.Table{Caption: plural(len(list), "person", "people") + " can sign in to this partnership", CaptionClasses: "govuk-table__caption--m", Classes: "hw-board",
		Head: []ui.TableCell{{Text: "Name"}, {Text: "Email"}, {Text: "Roles"}, {Text: "Status"}}}
	for _, u := range list {
		status := ui.Tag{Text: "Active", Classes: "govuk-tag--green"}
		if !u.Active {
			status = ui.Tag{Text: "Deactivated", Classes: "govuk-tag--grey"}
		}
		t.Rows = append(t.Rows, []ui.TableCell{{HTML: ui.Link("/users/"+url.PathEscape(u.ID), orDash(u.Name))}, {Text: ui.Text(u.Email)},
			{Text: ui.Text(roleNames(u.Roles))}, {HTML: status.HTML()}})
	}
	p.render(w, r, http.StatusOK, "users", view{Title: "Users", Banner: userBanners[r.URL.Query().Get("done")], Data: map[string]any{"Table": t}})
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func roleNames(roles []string) string {
	if len(roles) == 0 {
		return "none"
	}
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = words(r)
	}
	return strings.Join(out, ", ")
}

var userBanners = map[string]string{
	"roles":       "Roles saved. They apply from the person's next page.",
	"deactivated": "The person is deactivated and signed out everywhere.",
	"reactivated": "The person is active again.",
}

// roleChoices are the roles, for the invitation and role forms.
func roleChoices() []string {
	out := make([]string, len(auth.Roles))
	for i, r := range auth.Roles {
		out[i] = string(r)
	}
	return out
}

type inviteForm struct {
	Email, Name string
	Roles       []string
}

func (p *Portal) inviteForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.require(w, r, auth.UsersManage); !ok {
		return
	}
	p.invitePage(w, r, http.StatusOK, inviteForm{}, nil)
}

func (p *Portal) invitePage(w http.ResponseWriter, r *http.Request, status int, f inviteForm, errs []fieldError) {
	p.render(w, r, status, "invite", view{Title: "Invite a user", Errors: errs, Data: map[string]any{
		"F": f, "Roles": roleChoices(), "Domains": p.app.Config.EmailDomains()}})
}

// invite creates the person's identity with their roles and no password, and shows the one-time
// invitation link and code, which lead to choosing a password. Nothing of it is stored.
func (p *Portal) invite(w http.ResponseWriter, r *http.Request) {
	admin, ok := p.require(w, r, auth.UsersManage)
	if !ok {
		return
	}
	f := inviteForm{Email: strings.ToLower(strings.TrimSpace(r.PostFormValue("email"))), Name: strings.TrimSpace(r.PostFormValue("name")), Roles: formRoles(r)}
	var errs []fieldError
	addr, err := mail.ParseAddress(f.Email)
	switch {
	case f.Email == "" || err != nil || addr.Address != f.Email || len(f.Email) > 254:
		errs = append(errs, fieldError{Field: "email", Href: "#email", Text: "Enter an email address in the correct format, like name@example.org"})
	case !p.domainAllowed(f.Email):
		errs = append(errs, fieldError{Field: "email", Href: "#email", Text: "Invite people on the partnership's own email domains only: " + strings.Join(p.app.Config.EmailDomains(), ", ")})
	}
	if f.Name == "" || len(f.Name) > 200 {
		errs = append(errs, fieldError{Field: "name", Href: "#name", Text: "Enter the person's full name, up to 200 characters"})
	}
	if len(f.Roles) == 0 {
		errs = append(errs, fieldError{Field: "roles", Href: "#roles", Text: "Choose at least one role"})
	}
	if len(errs) > 0 {
		p.invitePage(w, r, http.StatusUnprocessableEntity, f, errs)
		return
	}
	body := kratos.NewCreateIdentityBody(kratosserver.SchemaID, map[string]any{"email": f.Email, "name": f.Name})
	body.MetadataPublic = metadataOf(p.app.Config.Partnership, f.Roles)
	state := stateActive
	body.State = &state
	created, resp, err := p.kratosAdmin.IdentityAPI.CreateIdentity(r.Context()).CreateIdentityBody(*body).Execute()
	if resp != nil && resp.StatusCode == http.StatusConflict {
		p.invitePage(w, r, http.StatusUnprocessableEntity, f, []fieldError{{Field: "email", Href: "#email", Text: "Someone with this email address can already sign in; find them in the list of users"}})
		return
	}
	if err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, fmt.Errorf("create identity: %w", kratosserver.DescribeError(resp, err)))
		return
	}
	expires := invitationLifespan
	code, resp, err := p.kratosAdmin.IdentityAPI.CreateRecoveryCodeForIdentity(r.Context()).
		CreateRecoveryCodeForIdentityBody(kratos.CreateRecoveryCodeForIdentityBody{IdentityId: created.Id, ExpiresIn: &expires}).Execute()
	if err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, fmt.Errorf("invitation for %s: %w", created.Id, kratosserver.DescribeError(resp, err)))
		return
	}
	if err := p.auditUser(r, admin, created.Id, audit.ActionCreate, "invited with roles "+strings.Join(f.Roles, ", ")); err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	p.render(w, r, http.StatusOK, "invited", view{Title: "Invitation created", Data: map[string]any{
		"F": f, "Link": code.RecoveryLink, "Code": code.RecoveryCode, "ID": created.Id}})
}

func (p *Portal) domainAllowed(email string) bool {
	domains := p.app.Config.EmailDomains()
	if len(domains) == 0 {
		return true
	}
	_, domain, _ := strings.Cut(email, "@")
	return slices.Contains(domains, domain)
}

func metadataOf(partnership string, roles []string) map[string]any {
	rs := make([]auth.Role, len(roles))
	for i, r := range roles {
		rs[i] = auth.Role(r)
	}
	return auth.Metadata(partnership, rs...)
}

// auditUser records a change to a staff identity in its audit trail, as the admin who made it.
func (p *Portal) auditUser(r *http.Request, admin *auth.Principal, id, action, detail string) error {
	e := audit.Entry{At: p.app.Now(), Actor: admin.IdentityID, ActorName: admin.Email, Roles: admin.RoleNames(), Action: action,
		Detail: detail, RequestID: httpapi.RequestID(r.Context())}
	if sc := trace.SpanContextFromContext(r.Context()); sc.HasTraceID() {
		e.TraceID = sc.TraceID().String()
	}
	return audit.Append(r.Context(), p.app.Redis, p.app.Keys, keyspace.AuditIdentity, id, e)
}

// userPage shows one person: their roles (a form to change them), their state (deactivate or
// reactivate) and the changes made to them.
func (p *Portal) userPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.require(w, r, auth.UsersManage); !ok {
		return
	}
	u, ok := p.loadUser(w, r)
	if !ok {
		return
	}
	trail, err := audit.Trail(r.Context(), p.app.Redis, p.app.Keys, keyspace.AuditIdentity, u.ID, "", 200)
	if err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	history := &ui.Table{Caption: "Changes", CaptionClasses: "govuk-table__caption--m",
		Head: []ui.TableCell{{Text: "When"}, {Text: "By"}, {Text: "What"}}}
	for _, e := range trail {
		history.Rows = append(history.Rows, []ui.TableCell{{Text: ui.Text(formatDateTime(e.At))}, {Text: ui.Text(e.ActorName)}, {Text: ui.Text(e.Detail)}})
	}
	p.render(w, r, http.StatusOK, "user", view{Title: "User", Banner: userBanners[r.URL.Query().Get("done")], Data: map[string]any{
		"U": u, "Roles": roleChoices(), "History": history, "Self": u.ID == principalOf(r).IdentityID}})
}

// loadUser reads the person the path names; another partnership's identity is not found.
func (p *Portal) loadUser(w http.ResponseWriter, r *http.Request) (staffUser, bool) {
	id, resp, err := p.kratosAdmin.IdentityAPI.GetIdentity(r.Context(), r.PathValue("id")).Execute()
	if resp != nil && resp.StatusCode == http.StatusNotFound || err == nil && id == nil {
		p.render(w, r, http.StatusNotFound, "problem", view{Title: "Page not found", Message: "There is no such user."})
		return staffUser{}, false
	}
	if err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, fmt.Errorf("read identity: %w", kratosserver.DescribeError(resp, err)))
		return staffUser{}, false
	}
	u, ours := p.userOf(*id)
	if !ours {
		p.render(w, r, http.StatusNotFound, "problem", view{Title: "Page not found", Message: "There is no such user."})
		return staffUser{}, false
	}
	return u, true
}

var errLastAdmin = errors.New("last admin")

// keepsAnAdmin refuses a change that would leave the partnership with no active partnership admin.
func (p *Portal) keepsAnAdmin(ctx context.Context, changed string, roles []string, active bool) error {
	if active && slices.Contains(roles, string(auth.RolePartnershipAdmin)) {
		return nil
	}
	list, err := p.staff(ctx)
	if err != nil {
		return err
	}
	for _, u := range list {
		if u.ID != changed && u.Active && slices.Contains(u.Roles, string(auth.RolePartnershipAdmin)) {
			return nil
		}
	}
	return errLastAdmin
}

// setRoles changes a person's roles; an admin cannot take away their own admin role, nor leave the
// partnership without an active admin.
func (p *Portal) setRoles(w http.ResponseWriter, r *http.Request) {
	admin, ok := p.require(w, r, auth.UsersManage)
	if !ok {
		return
	}
	u, ok := p.loadUser(w, r)
	if !ok {
		return
	}
	roles := formRoles(r)
	refuse := func(msg string) {
		p.render(w, r, http.StatusConflict, "problem", view{Title: "The roles were not changed", Message: msg})
	}
	switch {
	case len(roles) == 0:
		refuse("A person needs at least one role. To stop someone signing in, deactivate them instead.")
		return
	case u.ID == admin.IdentityID && !slices.Contains(roles, string(auth.RolePartnershipAdmin)):
		refuse("You cannot remove your own partnership admin role. Ask another partnership admin to do it.")
		return
	}
	if err := p.keepsAnAdmin(r.Context(), u.ID, roles, u.Active); errors.Is(err, errLastAdmin) {
		refuse("The partnership must keep at least one active partnership admin.")
		return
	} else if err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	if err := p.patchIdentity(r, u.ID, "/metadata_public", metadataOf(p.app.Config.Partnership, roles)); err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	p.changedUser(w, r, admin, u.ID, fmt.Sprintf("roles changed from %s to %s", roleNames(u.Roles), roleNames(roles)), "roles")
}

// setActive deactivates a person — their sessions end at once, on every process — or reactivates
// them. An admin cannot deactivate themself, nor the last active admin.
func (p *Portal) setActive(w http.ResponseWriter, r *http.Request) {
	admin, ok := p.require(w, r, auth.UsersManage)
	if !ok {
		return
	}
	u, ok := p.loadUser(w, r)
	if !ok {
		return
	}
	active := r.PostFormValue("active") == "yes"
	refuse := func(msg string) {
		p.render(w, r, http.StatusConflict, "problem", view{Title: "The person was not deactivated", Message: msg})
	}
	if !active && u.ID == admin.IdentityID {
		refuse("You cannot deactivate yourself. Ask another partnership admin to do it.")
		return
	}
	if !active {
		if err := p.keepsAnAdmin(r.Context(), u.ID, u.Roles, false); errors.Is(err, errLastAdmin) {
			refuse("The partnership must keep at least one active partnership admin.")
			return
		} else if err != nil {
			p.fail(w, r, http.StatusServiceUnavailable, err)
			return
		}
	}
	state, done, detail := stateActive, "reactivated", "reactivated"
	if !active {
		state, done, detail = stateInactive, "deactivated", "deactivated"
	}
	if err := p.patchIdentity(r, u.ID, "/state", state); err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	if !active {
		if resp, err := p.kratosAdmin.IdentityAPI.DeleteIdentitySessions(r.Context(), u.ID).Execute(); err != nil && (resp == nil || resp.StatusCode != http.StatusNotFound) {
			p.fail(w, r, http.StatusServiceUnavailable, fmt.Errorf("end sessions: %w", kratosserver.DescribeError(resp, err)))
			return
		}
	}
	p.changedUser(w, r, admin, u.ID, detail, done)
}

// formRoles are the known roles the form chose, each once.
func formRoles(r *http.Request) []string {
	var roles []string
	for _, role := range r.PostForm["roles"] {
		if auth.KnownRole(auth.Role(role)) && !slices.Contains(roles, role) {
			roles = append(roles, role)
		}
	}
	return roles
}

// changedUser records a change made to a person, tells every process to forget their cached
// session answers, and sends the admin back to the person's page with a banner.
func (p *Portal) changedUser(w http.ResponseWriter, r *http.Request, admin *auth.Principal, id, detail, done string) {
	if err := p.auditUser(r, admin, id, audit.ActionUpdate, detail); err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	if err := p.app.PublishIdentityChange(r.Context(), id); err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	http.Redirect(w, r, "/users/"+url.PathEscape(id)+"?done="+done, http.StatusSeeOther)
}

func (p *Portal) patchIdentity(r *http.Request, id, path string, value any) error {
	_, resp, err := p.kratosAdmin.IdentityAPI.PatchIdentity(r.Context(), id).
		JsonPatch([]kratos.JsonPatch{{Op: "replace", Path: path, Value: value}}).Execute()
	if err != nil {
		return fmt.Errorf("change identity %s: %w", id, kratosserver.DescribeError(resp, err))
	}
	return nil
}
