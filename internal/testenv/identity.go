package testenv

import (
	"context"
	"errors"
	"fmt"

	kratos "github.com/ory/kratos-client-go"

	"github.com/homeward-dev/homeward/internal/kratosserver"
)

// Identity is a running Kratos with clients for both of its APIs and helpers tests need often.
type Identity struct {
	*kratosserver.Server
	Admin  *kratos.APIClient
	Public *kratos.APIClient
}

func newIdentity(srv *kratosserver.Server) *Identity {
	return &Identity{Server: srv, Admin: kratosserver.Client(srv.AdminURL()), Public: kratosserver.Client(srv.PublicURL())}
}

// Person is an identity to create: traits, password and the roles the platform grants.
type Person struct {
	Email    string
	Name     string
	Password string
	// MetadataPublic carries what users may not edit: {"partnership": "...", "roles": [...]}.
	MetadataPublic map[string]any
}

// CreateIdentity creates a person with a password through the admin API and returns the identity id.
func (i *Identity) CreateIdentity(ctx context.Context, p Person) (string, error) {
	body := kratosserver.PasswordIdentity(p.Email, p.Name, p.Password, p.MetadataPublic)
	created, resp, err := i.Admin.IdentityAPI.CreateIdentity(ctx).CreateIdentityBody(body).Execute()
	if err != nil {
		return "", fmt.Errorf("create identity %s: %w", p.Email, kratosserver.DescribeError(resp, err))
	}
	return created.Id, nil
}

// Login runs the native (API) login flow with a password and returns the session token.
func (i *Identity) Login(ctx context.Context, email, password string) (string, error) {
	flow, resp, err := i.Public.FrontendAPI.CreateNativeLoginFlow(ctx).Execute()
	if err != nil {
		return "", fmt.Errorf("create login flow: %w", kratosserver.DescribeError(resp, err))
	}
	method := kratos.NewUpdateLoginFlowWithPasswordMethod(email, "password", password)
	login, resp, err := i.Public.FrontendAPI.UpdateLoginFlow(ctx).
		Flow(flow.Id).
		UpdateLoginFlowBody(kratos.UpdateLoginFlowWithPasswordMethodAsUpdateLoginFlowBody(method)).
		Execute()
	if err != nil {
		return "", fmt.Errorf("log in %s: %w", email, kratosserver.DescribeError(resp, err))
	}
	token := login.GetSessionToken()
	if token == "" {
		return "", errors.New("login succeeded without a session token")
	}
	return token, nil
}

// CreateAndLogin creates the person and returns their identity id and a session token.
func (i *Identity) CreateAndLogin(ctx context.Context, p Person) (id, token string, err error) {
	if id, err = i.CreateIdentity(ctx, p); err != nil {
		return "", "", err
	}
	token, err = i.Login(ctx, p.Email, p.Password)
	return id, token, err
}
