// Package portaltest drives the portal in a real headless Chromium (Debian's chromium, through the
// DevTools protocol with chromedp) and checks each page with axe-core for WCAG 2.2 A and AA.
package portaltest

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// axeSource is axe-core, vendored by hack/vendor-assets.sh; tests inject it, pages never load it.
//
//go:embed axe.min.js
var axeSource string

// Browser finds Chromium: $CHROMIUM, or chromium on the PATH (hack/install-deps.sh installs it).
func Browser(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed: run hack/install-deps.sh (%v)", err)
	}
	return p
}

// Start opens a fresh headless Chromium with its own profile, closed when the test ends.
func Start(t testing.TB) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Browser(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-default-apps", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("lang", "en-GB"), chromedp.WindowSize(1280, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Violation is one axe-core rule a page breaks.
type Violation struct {
	ID    string `json:"id"`
	Help  string `json:"help"`
	Nodes []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// Axe runs axe-core on the page for WCAG 2.0, 2.1 and 2.2 A and AA and fails the test on any violation.
func Axe(t testing.TB, parent context.Context, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(parent, stepTimeout)
	defer cancel()
	await := func(p *runtime.EvaluateParams) {
		yes := true
		p.AwaitPromise = &yes
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axeSource+";true")); err != nil {
		t.Fatalf("inject axe-core: %v", err)
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`axe.run(document, {runOnly: ['wcag2a','wcag2aa','wcag21a','wcag21aa','wcag22aa']}).then(r => JSON.stringify(r.violations))`, await))
	if err != nil {
		t.Fatalf("run axe-core on %s: %v", what, err)
	}
	var violations []Violation
	if err := json.Unmarshal([]byte(raw), &violations); err != nil {
		t.Fatalf("decode axe-core result: %v", err)
	}
	for _, v := range violations {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprint(n.Target...))
		}
		t.Errorf("%s: accessibility: %s (%s) at %s", what, v.Help, v.ID, strings.Join(where, ", "))
	}
}

// Open navigates to url, waits for the page, checks its <h1> and runs axe-core on it.
func Open(t testing.TB, ctx context.Context, url, wantH1 string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	Expect(t, ctx, wantH1)
}

// Expect checks the page's <h1> once it has loaded, then runs axe-core on it.
func Expect(t testing.TB, ctx context.Context, wantH1 string) {
	t.Helper()
	ExpectHeading(t, ctx, wantH1)
	Axe(t, ctx, wantH1)
}

// ExpectHeading waits until the page has loaded with wantH1 as its <h1>, or fails with what is there.
func ExpectHeading(t testing.TB, ctx context.Context, wantH1 string) {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	h1 := ""
	for time.Now().Before(deadline) {
		h1, _ = chromedp.Run(ctx, chromedp.Evaluate[string](
			`document.readyState === 'complete' && document.querySelector('h1') ? document.querySelector('h1').textContent.trim() : ''`))
		if h1 == wantH1 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the heading is %q, want %q; the page:\n%s", h1, wantH1, describe(ctx))
}

// Width is the page's scroll width once it has loaded with its stylesheets (a page measured while
// still loading can be a few pixels wider than it will be).
func Width(t testing.TB, ctx context.Context) int {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for time.Now().Before(deadline) {
		if done, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === 'complete'`)); done {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return Eval[int](t, ctx, `document.documentElement.scrollWidth`)
}

// Eval evaluates a JavaScript expression in the page.
func Eval[T any](t testing.TB, parent context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(parent, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// Do runs steps, failing the test on error.
func Do(t testing.TB, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	// A step that waits for something that never comes fails the test instead of hanging it.
	step, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(step, steps...); err != nil {
		t.Fatalf("%v; the page at the time:\n%s", err, describe(ctx))
	}
}

const stepTimeout = 20 * time.Second

// describe is the page's address and text, for a failure message.
func describe(ctx context.Context) string {
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(short, chromedp.Location())
	text, _ := chromedp.Run(short, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
	return loc + "\n" + text
}

// WithoutJavaScript switches scripts off in the page (or back on).
func WithoutJavaScript(t testing.TB, ctx context.Context, off bool) {
	t.Helper()
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: off}); err != nil {
		t.Fatal(err)
	}
}

// Media emulates a CSS media type ("print"; "" for the screen again).
func Media(t testing.TB, ctx context.Context, media string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: media}); err != nil {
		t.Fatal(err)
	}
}

// Screenshot captures the viewport as a PNG and, when $HOMEWARD_SCREENSHOTS names a folder (make
// screenshots sets docs/screenshots), writes it there as name.png.
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil || len(png) < 1000 {
		t.Fatalf("screenshot %s: %d bytes, %v", name, len(png), err)
	}
	dir := os.Getenv("HOMEWARD_SCREENSHOTS")
	if dir == "" {
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Settle waits briefly for script-driven changes (focus moves, enhanced components).
func Settle(ctx context.Context) { _ = chromedp.Do(ctx, chromedp.Sleep(150*time.Millisecond)) }

// WaitText waits until the page's text contains one of texts, and returns the page's text.
func WaitText(t testing.TB, ctx context.Context, texts ...string) string {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState === 'complete' && document.body ? document.body.innerText : ''`))
		for _, want := range texts {
			if strings.Contains(body, want) {
				return body
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited for %q; the page at the time:\n%s", texts, describe(ctx))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Follow clicks sel, which leads to another page, and waits until that page has loaded with wantH1 as
// its heading (a new document: the old one is marked first, so its heading never counts), then runs
// axe-core on it.
func Follow(t testing.TB, ctx context.Context, sel, wantH1 string) {
	t.Helper()
	Do(t, ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.hwLeaving = true`))
		return err
	}), chromedp.Click(chromedp.CSS(sel)))
	deadline := time.Now().Add(stepTimeout)
	for {
		fresh, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.hwLeaving !== true && document.readyState === 'complete'`))
		if fresh {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("clicking %s did not lead to a new page; the page:\n%s", sel, describe(ctx))
		}
		time.Sleep(50 * time.Millisecond)
	}
	Expect(t, ctx, wantH1)
}
