// Command homeward-images builds Homeward's three images — homeward (the services, the portal and
// the operator, static and non-root), Kratos and Redis (each binary with the libraries it links) —
// as OCI image layout archives, with an SBOM each, and prints their digests. `make images` runs it.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/homeward-dev/homeward/internal/images"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "homeward-images:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("homeward-images", flag.ContinueOnError)
	dir := fs.String("out", "dist/images", "where the archives, SBOMs and digests are written")
	bins := fs.String("bin", "dist/images/bin", "the static homeward and homeward-operator binaries")
	kratos := fs.String("kratos", "bin/kratos", "the kratos binary")
	redis := fs.String("redis-server", "/usr/bin/redis-server", "the redis-server binary")
	repo := fs.String("repository", "ghcr.io/homeward-dev", "where the images are named to live")
	version := fs.String("version", "dev", "the images' tag")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	homeward := filepath.Join(*bins, "homeward")
	operator := filepath.Join(*bins, "homeward-operator")
	for _, b := range []string{homeward, operator} {
		libs, err := images.SharedLibraries(b)
		if err != nil {
			return err
		}
		if len(libs) > 0 {
			return fmt.Errorf("%s links %v: build it with CGO_ENABLED=0", b, libs)
		}
	}
	kratosFiles, err := images.BinaryWithLibraries(*kratos, "/usr/local/bin/kratos")
	if err != nil {
		return err
	}
	redisFiles, err := images.BinaryWithLibraries(*redis, "/usr/bin/redis-server")
	if err != nil {
		return err
	}
	labels := func(title string) map[string]string {
		return map[string]string{"org.opencontainers.image.title": title, "org.opencontainers.image.version": *version,
			"org.opencontainers.image.source": "https://github.com/homeward-dev/homeward"}
	}
	specs := []images.Spec{
		{Name: "homeward", Entrypoint: []string{"/usr/local/bin/homeward"}, Labels: labels("homeward"), Files: []images.File{
			{Path: "/usr/local/bin/homeward", Source: homeward, Mode: 0o555},
			{Path: "/usr/local/bin/homeward-operator", Source: operator, Mode: 0o555},
		}},
		{Name: "kratos", Entrypoint: []string{"/usr/local/bin/kratos"}, Labels: labels("kratos"), Files: kratosFiles},
		{Name: "redis", Entrypoint: []string{"/usr/bin/redis-server"}, Labels: labels("redis"), Files: redisFiles},
	}
	var env []string
	var errs []error
	for _, spec := range specs {
		built, err := images.Build(spec)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ref := *repo + "/" + spec.Name + ":" + *version
		archive, err := images.WriteArchive(*dir, ref, built)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sbom, err := images.SBOM(built)
		if err == nil {
			err = os.WriteFile(filepath.Join(*dir, spec.Name+".sbom.json"), sbom, 0o644)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		info, _ := os.Stat(archive)
		fmt.Fprintf(out, "%-9s %s@%s  %5.1f MB  %s\n", spec.Name, *repo+"/"+spec.Name, built.Digest, float64(info.Size())/(1<<20), archive)
		env = append(env, fmt.Sprintf("%s_IMAGE=%s/%s@%s", strings.ToUpper(spec.Name), *repo, spec.Name, built.Digest))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(*dir, "digests.env"), []byte(strings.Join(env, "\n")+"\n"), 0o644)
}
