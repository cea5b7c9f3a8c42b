package servicetest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// BrowserSession logs a person in through Kratos' browser flow, as the portal does, and returns
// the session cookie Kratos sets.
func (tn *Tenant) BrowserSession(t testing.TB, email string) *http.Cookie {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(url string) *http.Response {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := get(tn.Identity.PublicURL() + "/self-service/login/browser")
	var flow struct {
		ID string `json:"id"`
		UI struct {
			Nodes []struct {
				Attributes struct {
					Name  string `json:"name"`
					Value any    `json:"value"`
				} `json:"attributes"`
			} `json:"nodes"`
		} `json:"ui"`
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := json.Unmarshal(body, &flow); err != nil || flow.ID == "" {
		t.Fatalf("browser login flow: %d %s", resp.StatusCode, body)
	}
	csrf := ""
	for _, n := range flow.UI.Nodes {
		if n.Attributes.Name == "csrf_token" {
			csrf, _ = n.Attributes.Value.(string)
		}
	}
	form, _ := json.Marshal(map[string]string{"method": "password", "identifier": email,
		"password": "correct horse battery staple " + email, "csrf_token": csrf})
	req, _ := http.NewRequest("POST", tn.Identity.PublicURL()+"/self-service/login?flow="+flow.ID, bytes.NewReader(form))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	// Kratos' cookies are Secure, which a cookie jar withholds from plain http: send them by hand.
	for _, c := range resp.Cookies() {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	login, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer login.Body.Close()
	out, _ := io.ReadAll(login.Body)
	for _, c := range login.Cookies() {
		if c.Name == "ory_kratos_session" {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	t.Fatalf("browser login set no session cookie: %d %s", login.StatusCode, out)
	return nil
}
