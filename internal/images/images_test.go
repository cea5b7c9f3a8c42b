package images

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func files(t *testing.T, content string) []File {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "tool")
	if err := os.WriteFile(bin, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return []File{{Path: "/usr/local/bin/tool", Source: bin, Mode: 0o555}}
}

// The same files give the same image, whenever and wherever they were written; a change of content
// gives another.
func TestSameInputsSameDigest(t *testing.T) {
	spec := Spec{Name: "tool", Entrypoint: []string{"/usr/local/bin/tool"}, Files: files(t, "#!binary v1")}
	first, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	again := spec
	again.Files = files(t, "#!binary v1") // another file, another directory, a later mtime
	if err := os.Chtimes(again.Files[0].Source, time.Now().Add(time.Hour), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	second, err := Build(again)
	if err != nil {
		t.Fatal(err)
	}
	if first.Digest != second.Digest {
		t.Errorf("the same files gave %s and %s", first.Digest, second.Digest)
	}
	changed := spec
	changed.Files = files(t, "#!binary v2")
	third, err := Build(changed)
	if err != nil {
		t.Fatal(err)
	}
	if third.Digest == first.Digest {
		t.Error("different content gave the same digest")
	}

	// The archives are byte for byte the same too.
	a, err := WriteArchive(t.TempDir(), "example/tool:1", first)
	if err != nil {
		t.Fatal(err)
	}
	b, err := WriteArchive(t.TempDir(), "example/tool:1", second)
	if err != nil {
		t.Fatal(err)
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if string(ab) != string(bb) {
		t.Error("the same image gave two different archives")
	}
	var index struct {
		Manifests []struct {
			Digest      string
			Annotations map[string]string
		}
	}
	raw := archiveFile(t, a, "index.json")
	if err := json.Unmarshal([]byte(raw), &index); err != nil || len(index.Manifests) != 1 ||
		index.Manifests[0].Digest != first.Digest.String() || index.Manifests[0].Annotations["io.containerd.image.name"] != "example/tool:1" {
		t.Errorf("index.json does not name the image for containerd: %s", raw)
	}
}

func archiveFile(t *testing.T, archive, name string) string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in %s: %v", name, archive, err)
		}
		if h.Name == name {
			b, _ := io.ReadAll(tr)
			return string(b)
		}
	}
}

// An image runs as the non-root user, holds no shell, and dates nothing by the build.
func TestImagesRunAsNonRootWithoutAShell(t *testing.T) {
	built, err := Build(Spec{Name: "tool", Entrypoint: []string{"/usr/local/bin/tool"}, Files: files(t, "x")})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := built.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "65532:65532" || !cfg.Created.Time.Equal(SourceDateEpoch) || cfg.Config.WorkingDir != "/tmp" {
		t.Errorf("config: user %q, created %s, workdir %q", cfg.Config.User, cfg.Created, cfg.Config.WorkingDir)
	}
	layers, err := built.Image.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var names []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(SourceDateEpoch) {
			t.Errorf("%s: owner %d:%d, time %s", h.Name, h.Uid, h.Gid, h.ModTime)
		}
		names = append(names, h.Name)
	}
	for _, want := range []string{"etc/passwd", "tmp/", "usr/local/bin/tool"} {
		if !slices.Contains(names, want) {
			t.Errorf("the layer lacks %s: %v", want, names)
		}
	}
	for _, shell := range []string{"bin/sh", "bin/bash", "usr/bin/sh"} {
		if slices.Contains(names, shell) {
			t.Errorf("the image holds a shell, %s", shell)
		}
	}
	sbom, err := SBOM(built)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Digest string
		Files  []Content
	}
	if err := json.Unmarshal(sbom, &doc); err != nil || doc.Digest != built.Digest.String() || len(doc.Files) != 3 {
		t.Errorf("SBOM: %s", sbom)
	}
}

// A dynamically linked binary comes with every library it loads, the loader too; the SBOM names
// their Debian packages.
func TestBinaryWithLibraries(t *testing.T) {
	fs, err := BinaryWithLibraries("/usr/bin/redis-server", "/usr/bin/redis-server")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range fs {
		paths = append(paths, f.Path)
	}
	for _, want := range []string{"/usr/bin/redis-server", "/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libssl.so.3"} {
		if !slices.Contains(paths, want) {
			t.Errorf("redis-server's files lack %s: %v", want, paths)
		}
	}
	built, err := Build(Spec{Name: "redis", Entrypoint: []string{"/usr/bin/redis-server"}, Files: fs})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range built.Contents {
		if c.Path == "/usr/bin/redis-server" && !strings.HasPrefix(c.Package, "redis-server ") {
			t.Errorf("the SBOM does not name redis-server's package: %+v", c)
		}
	}
}
