// Package binaries finds the real components hack/tools.sh builds into the repository's bin/.
package binaries

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DirEnv overrides where binaries are looked up; by default the bin/ folder of the checkout that
// contains the working directory, so `go test ./...` finds them from any package.
const DirEnv = "HOMEWARD_BIN_DIR"

const modulePath = "github.com/homeward-dev/homeward"

// Dir returns the folder holding the built tools.
func Dir() (string, error) {
	if d := os.Getenv(DirEnv); d != "" {
		return d, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("locate bin/: %w; or set %s", err, DirEnv)
	}
	return filepath.Join(root, "bin"), nil
}

// RepoRoot is the root of the Homeward checkout containing the working directory.
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if isHomewardRoot(d) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no %s checkout above %s", modulePath, wd)
		}
	}
}

func isHomewardRoot(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(first) == "module "+modulePath
}

// Path returns the path of a built tool, or an error telling how to build it.
func Path(name string) (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	info, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		if strings.HasPrefix(name, "homeward") {
			return "", fmt.Errorf("%s is not built: run make build", p)
		}
		return "", fmt.Errorf("%s is not built: run hack/tools.sh %s (or make tools)", p, name)
	}
	if err != nil {
		return "", fmt.Errorf("locate %s: %w", name, err)
	}
	if info.IsDir() || info.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s is not an executable file", p)
	}
	return p, nil
}
