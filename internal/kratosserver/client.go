package kratosserver

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	kratos "github.com/ory/kratos-client-go"
)

// Client returns a Kratos API client for one of a server's APIs (public or admin).
func Client(baseURL string) *kratos.APIClient {
	cfg := kratos.NewConfiguration()
	cfg.Servers = kratos.ServerConfigurations{{URL: baseURL}}
	cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	return kratos.NewAPIClient(cfg)
}

// DescribeError adds what Kratos said to a client error: the generated client's errors alone carry
// only the status line. At most 300 bytes of the body are kept.
func DescribeError(resp *http.Response, err error) error {
	if resp == nil || resp.Body == nil {
		return err
	}
	defer resp.Body.Close()
	var apiErr *kratos.GenericOpenAPIError
	if errors.As(err, &apiErr) && len(apiErr.Body()) > 0 {
		body := apiErr.Body()
		if len(body) > 300 {
			body = body[:300]
		}
		return fmt.Errorf("%w: %s", err, body)
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	return fmt.Errorf("%w: %s", err, b)
}

// PasswordIdentity is the body that creates a staff identity with a password and its
// metadata_public (partnership and roles), in Homeward's identity schema.
func PasswordIdentity(email, name, password string, metadataPublic map[string]any) kratos.CreateIdentityBody {
	body := kratos.NewCreateIdentityBody(SchemaID, map[string]any{"email": email, "name": name})
	body.MetadataPublic = metadataPublic
	config := kratos.NewIdentityWithCredentialsPasswordConfig()
	config.SetPassword(password)
	creds := kratos.NewIdentityWithCredentialsPassword()
	creds.SetConfig(*config)
	body.Credentials = kratos.NewIdentityWithCredentials()
	body.Credentials.SetPassword(*creds)
	return *body
}
