package services

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Handlers see no Redis: in each service only its repository's files import go-redis or reach the
// kit's Redis client, so every key and every command is behind the repository's methods.
func TestOnlyRepositoriesTouchRedis(t *testing.T) {
	repositories := map[string][]string{
		"referral":  {"repo.go", "indexes.go", "summary.go"},
		"housing":   {"repo.go", "indexes.go"},
		"reporting": {"ingest.go", "store.go"},
	}
	for service, allowed := range repositories {
		files, err := filepath.Glob(filepath.Join(service, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			name := filepath.Base(path)
			if strings.HasSuffix(name, "_test.go") || slices.Contains(allowed, name) {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// The constructor hands the client to the repository (rdb: a.Redis); nothing else uses it.
			if strings.Contains(string(b), "app.Redis.") || strings.Contains(string(b), "a.Redis.") {
				t.Errorf("%s reaches the kit's Redis client: storage belongs in the repository", path)
			}
			for _, imp := range f.Imports {
				if p, _ := strconv.Unquote(imp.Path.Value); strings.HasPrefix(p, "github.com/redis/go-redis") {
					t.Errorf("%s imports %s: storage belongs in the repository", path, p)
				}
			}
		}
	}
}
