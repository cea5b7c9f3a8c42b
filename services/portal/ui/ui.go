// Package ui is the portal's port of the GOV.UK Frontend components it uses: each is a Go struct whose
// fields are the Nunjucks macro's options (same names), rendered by a template in components.html. A test
// replays the fixtures shipped in the pinned govuk-frontend package through them and compares the HTML,
// so an upgrade shows exactly what changed.
package ui

import (
	"embed"
	"html/template"
)

// Templates holds components.html, which page template sets parse beside their own files.
//
//go:embed components.html
var Templates embed.FS

// Tag is govukTag.
type Tag struct {
	Text    string `json:"text"`
	Classes string `json:"classes"`
}

// ErrorItem is one entry of an error summary's list.
type ErrorItem struct {
	Text string `json:"text"`
	Href string `json:"href"`
}

// ErrorSummary is govukErrorSummary.
type ErrorSummary struct {
	TitleText string      `json:"titleText"`
	ErrorList []ErrorItem `json:"errorList"`
}

// NotificationBanner is govukNotificationBanner of type "success" (the only one the portal shows).
type NotificationBanner struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Panel is govukPanel, the confirmation panel.
type Panel struct {
	TitleText string        `json:"titleText"`
	HTML      template.HTML `json:"html"`
}

// BackLink is govukBackLink.
type BackLink struct {
	Text string `json:"text"`
	Href string `json:"href"`
}
