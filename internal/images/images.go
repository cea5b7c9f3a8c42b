// Package images builds Homeward's container images without Docker: an image is one layer made
// from files on this machine (a binary, the shared libraries it links, a passwd file naming the
// non-root user), written as an OCI image layout that containerd imports and registries accept.
// The same files give the same digest: every tar header is fixed (owner 0:0, modification time
// SourceDateEpoch) and entries are written in path order.
package images

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// SourceDateEpoch is the time every file and the image itself are dated: a fixed instant, so the
// date a build ran changes nothing in its output.
var SourceDateEpoch = time.Unix(0, 0).UTC()

// NonRootUID is the user every Homeward image runs as (distroless' "nonroot").
const NonRootUID = 65532

// File is one file of an image: where it goes, what it holds, and its mode.
type File struct {
	Path   string // absolute, inside the image
	Source string // on this machine; empty with Data
	Data   []byte
	Mode   int64
}

// Spec is one image.
type Spec struct {
	Name       string
	Files      []File
	Entrypoint []string
	Env        []string
	// Labels become the config's labels (org.opencontainers.image.*).
	Labels map[string]string
}

// Built is an image and what it holds.
type Built struct {
	Spec   Spec
	Image  v1.Image
	Digest v1.Hash
	// Contents are the files with their SHA-256, for the SBOM.
	Contents []Content
}

// Content is one file of a built image.
type Content struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Package is the Debian package the file comes from, when it is one's ("name version").
	Package string `json:"package,omitempty"`
}

// passwd names root and the non-root user, so tools that look the user up find it.
func passwd() File {
	return File{Path: "/etc/passwd", Mode: 0o444,
		Data: []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", NonRootUID, NonRootUID))}
}

func group() File {
	return File{Path: "/etc/group", Mode: 0o444, Data: []byte(fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", NonRootUID))}
}

// Build makes the image of a spec: one layer holding the spec's files (with /etc/passwd, /etc/group
// and an empty /tmp for a read-only root), run as the non-root user.
func Build(spec Spec) (*Built, error) {
	files := append(slices.Clone(spec.Files), passwd(), group())
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	for i := 1; i < len(files); i++ {
		if files[i].Path == files[i-1].Path {
			return nil, fmt.Errorf("image %s: %s given twice", spec.Name, files[i].Path)
		}
	}
	var layerTar bytes.Buffer
	tw := tar.NewWriter(&layerTar)
	dirs := map[string]bool{}
	header := func(h *tar.Header) error {
		h.ModTime, h.AccessTime, h.ChangeTime = SourceDateEpoch, time.Time{}, time.Time{}
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		h.Format = tar.FormatPAX
		return tw.WriteHeader(h)
	}
	addDir := func(dir string, mode int64) error {
		for _, d := range parents(dir) {
			if !dirs[d] {
				dirs[d] = true
				if err := header(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755}); err != nil {
					return err
				}
			}
		}
		if !dirs[dir] {
			dirs[dir] = true
			return header(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(dir, "/") + "/", Mode: mode})
		}
		return nil
	}
	// /tmp is where a read-only root's processes write (an emptyDir is mounted over it in pods).
	if err := addDir("/tmp", 0o1777); err != nil {
		return nil, err
	}
	var contents []Content
	for _, f := range files {
		data := f.Data
		if f.Source != "" {
			b, err := os.ReadFile(f.Source)
			if err != nil {
				return nil, fmt.Errorf("image %s: %w", spec.Name, err)
			}
			data = b
		}
		if err := addDir(path.Dir(f.Path), 0o755); err != nil {
			return nil, err
		}
		if err := header(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(f.Path, "/"), Mode: f.Mode, Size: int64(len(data))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		contents = append(contents, Content{Path: f.Path, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Package: debianPackage(f.Source)})
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	raw := layerTar.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
		tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.DefaultCompression))
	if err != nil {
		return nil, fmt.Errorf("image %s layer: %w", spec.Name, err)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS = "amd64", "linux"
	cfg.Created = v1.Time{Time: SourceDateEpoch}
	cfg.Config.User = fmt.Sprintf("%d:%d", NonRootUID, NonRootUID)
	cfg.Config.Entrypoint = spec.Entrypoint
	cfg.Config.Env = append([]string{"PATH=/usr/local/bin:/usr/bin"}, spec.Env...)
	cfg.Config.WorkingDir = "/tmp"
	cfg.Config.Labels = spec.Labels
	cfg.History = nil
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	digest, err := img.Digest()
	if err != nil {
		return nil, err
	}
	return &Built{Spec: spec, Image: img, Digest: digest, Contents: contents}, nil
}

// parents are the directories above dir, outermost first ("/a/b" → "/a").
func parents(dir string) []string {
	var out []string
	for d := path.Dir(dir); d != "/" && d != "."; d = path.Dir(d) {
		out = append([]string{d}, out...)
	}
	return out
}

var lddLine = regexp.MustCompile(`(?:=>\s*)?(/\S+)\s+\(0x[0-9a-f]+\)`)

// SharedLibraries are the files a dynamically linked binary loads (ldd's answer, the loader
// included), each where the binary looks for it; none for a static binary.
func SharedLibraries(binary string) ([]string, error) {
	out, err := exec.Command("ldd", binary).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "not a dynamic executable") || strings.Contains(string(out), "statically linked") {
			return nil, nil
		}
		return nil, fmt.Errorf("ldd %s: %w: %s", binary, err, out)
	}
	var libs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "not found") {
			return nil, fmt.Errorf("ldd %s: %s", binary, strings.TrimSpace(sc.Text()))
		}
		if m := lddLine.FindStringSubmatch(sc.Text()); m != nil {
			libs = append(libs, m[1])
		}
	}
	slices.Sort(libs)
	return slices.Compact(libs), nil
}

// BinaryWithLibraries is a binary at dest in the image and every library it links, each at the path
// the loader looks for it (the library's content is the file the path resolves to here).
func BinaryWithLibraries(source, dest string) ([]File, error) {
	libs, err := SharedLibraries(source)
	if err != nil {
		return nil, err
	}
	files := []File{{Path: dest, Source: source, Mode: 0o555}}
	for _, l := range libs {
		real, err := filepath.EvalSymlinks(l)
		if err != nil {
			return nil, err
		}
		// The loader is exec'd by the kernel, so libraries keep the execute bit they have on the host.
		files = append(files, File{Path: l, Source: real, Mode: 0o555})
	}
	return files, nil
}

// debianPackage names the Debian package a file of this machine belongs to, "" when none.
func debianPackage(file string) string {
	if file == "" {
		return ""
	}
	out, err := exec.Command("dpkg-query", "-S", file).Output()
	if err != nil {
		return ""
	}
	name, _, ok := strings.Cut(strings.TrimSpace(strings.Split(string(out), "\n")[0]), ":")
	if !ok {
		return ""
	}
	version, err := exec.Command("dpkg-query", "-W", "-f=${Version}", name).Output()
	if err != nil {
		return name
	}
	return name + " " + strings.TrimSpace(string(version))
}

// WriteArchive writes the image as an OCI image layout in a tar file, named ref inside it (the
// annotation containerd's `ctr images import` reads), and returns the file's path.
func WriteArchive(dir, ref string, b *Built) (string, error) {
	work, err := os.MkdirTemp(dir, ".layout-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	p, err := layout.Write(work, empty.Index)
	if err != nil {
		return "", err
	}
	if err := p.AppendImage(b.Image, layout.WithAnnotations(map[string]string{
		"io.containerd.image.name": ref, "org.opencontainers.image.ref.name": ref,
	})); err != nil {
		return "", err
	}
	out := filepath.Join(dir, b.Spec.Name+".oci.tar")
	return out, tarDir(work, out)
}

// tarDir writes a directory's files as a tar, in path order with fixed headers.
func tarDir(dir, out string) error {
	var paths []string
	if err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, p)
		}
		return err
	}); err != nil {
		return err
	}
	slices.Sort(paths)
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return errors.Join(err, f.Close())
		}
		rel, _ := filepath.Rel(dir, p)
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: filepath.ToSlash(rel), Mode: 0o444, Size: int64(len(data)), ModTime: SourceDateEpoch}); err != nil {
			return errors.Join(err, f.Close())
		}
		if _, err := tw.Write(data); err != nil {
			return errors.Join(err, f.Close())
		}
	}
	return errors.Join(tw.Close(), f.Close())
}

// SBOM is the image's bill of materials: its digest and every file with its checksum and, for
// files from Debian packages, the package and version (the Go binaries carry their modules, which
// `go version -m` prints).
func SBOM(b *Built) ([]byte, error) {
	return json.MarshalIndent(map[string]any{
		"image": b.Spec.Name, "digest": b.Digest.String(), "created": SourceDateEpoch.Format(time.RFC3339), "files": b.Contents,
	}, "", "  ")
}
