package binaries_test

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/homeward-dev/homeward/internal/binaries"
)

func TestPathSaysHowToBuildWhatIsMissing(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "etcd"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kratos"), []byte("not executable"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(binaries.DirEnv, dir)

	for _, tc := range []struct {
		name    string
		wantErr string
	}{
		{"etcd", ""},
		{"kube-apiserver", "run hack/tools.sh kube-apiserver"},
		{"homeward", "run make build"},
		{"kratos", "is not an executable file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			p, err := binaries.Path(tc.name)
			if tc.wantErr == "" {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(p).To(Equal(filepath.Join(dir, tc.name)))
				return
			}
			g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
		})
	}
}

func TestRepoRootIsFoundFromAnySubfolder(t *testing.T) {
	g := NewWithT(t)
	root, err := binaries.RepoRoot()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(filepath.Join(root, "go.mod")).To(BeAnExistingFile())
	g.Expect(filepath.Join(root, "internal", "binaries")).To(BeADirectory())

	t.Chdir(t.TempDir())
	_, err = binaries.RepoRoot()
	g.Expect(err).To(MatchError(ContainSubstring("no github.com/homeward-dev/homeward checkout above")))
}
