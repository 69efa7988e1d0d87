package sqlsyntax

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// jsFiles are the inputs of the bundle: the entry file and the npm pins.
//
//go:embed js/validate.js js/package.json js/package-lock.json
var jsFiles embed.FS

// jsNames are jsFiles' names, in the order they are hashed.
var jsNames = []string{"package.json", "package-lock.json", "validate.js"}

// cacheEnv names a folder for the bundle other than the user's cache.
const cacheEnv = "SEGMENTKIT_SQLSYNTAX_CACHE"

// minNode is the oldest Node.js major version that esbuild and
// dt-sql-parser support.
const minNode = 18

// buildTimeout bounds one build: npm ci against an unreachable registry
// retries for minutes otherwise.
const buildTimeout = 5 * time.Minute

// builds serializes the builds of one process; parallel processes build
// in folders of their own and rename the result into place.
var builds sync.Mutex

// Build makes sure the bundle that the checker processes run exists,
// building it when it is missing (see the package doc), and returns its
// path. Validate calls it on first use; calling it first only moves the
// build's time and failure ahead.
func Build(ctx context.Context) (string, error) {
	if _, err := nodePath(); err != nil {
		return "", err
	}
	path, err := bundlePath()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	builds.Lock()
	defer builds.Unlock()
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := build(ctx, path); err != nil {
		return "", err
	}
	return path, nil
}

// bundlePath returns where the bundle of the embedded inputs is kept.
func bundlePath() (string, error) {
	dir := os.Getenv(cacheEnv)
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("%w: no folder to keep the bundle in: %v (set %s to one)", ErrBuild, err, cacheEnv)
		}
		dir = filepath.Join(cache, "segmentkit")
	}
	h := sha256.New()
	for _, name := range jsNames {
		b, err := jsFiles.ReadFile("js/" + name)
		if err != nil {
			return "", fmt.Errorf("%w: embedded js/%s: %v", ErrBuild, name, err)
		}
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
	}
	return filepath.Join(dir, "sqlsyntax-"+hex.EncodeToString(h.Sum(nil))[:16]+".js"), nil
}

// nodePath returns the node program, checking that it is recent enough.
func nodePath() (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("%w: node is not on PATH (%v): the Spark SQL and Trino syntax checks run dt-sql-parser with Node.js %d or later; install it (Debian: apt-get install nodejs npm; .ci/run does)",
			ErrNoNode, err, minNode)
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%w: %s --version: %v", ErrNoNode, node, err)
	}
	v := strings.TrimSpace(string(out))
	major, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	if n, err := strconv.Atoi(major); err != nil || n < minNode {
		return "", fmt.Errorf("%w: %s is Node.js %s; the Spark SQL and Trino syntax checks need %d or later", ErrNoNode, node, v, minNode)
	}
	return node, nil
}

// build builds the bundle into path: npm ci and esbuild in a temporary
// folder beside it, then a rename.
func build(ctx context.Context, path string) (err error) {
	node, err := nodePath()
	if err != nil {
		return err
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("%w: npm is not on PATH (%v): the Spark SQL and Trino syntax checks install dt-sql-parser and esbuild with it once, to build %s; install it (Debian: apt-get install npm)",
			ErrNoNode, err, path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("%w: %v", ErrBuild, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(path), ".sqlsyntax-build-")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBuild, err)
	}
	defer os.RemoveAll(tmp)
	for _, name := range jsNames {
		b, err := jsFiles.ReadFile("js/" + name)
		if err != nil {
			return fmt.Errorf("%w: embedded js/%s: %v", ErrBuild, name, err)
		}
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return fmt.Errorf("%w: %v", ErrBuild, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	// No install scripts: esbuild's only optimizes, and its package
	// finds its binary without it. Dev and optional packages are
	// included whatever the user's npm configuration omits: esbuild's
	// binary is an optional package.
	if err := run(ctx, tmp, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund",
		"--include=dev", "--include=optional", "--loglevel=error"); err != nil {
		return fmt.Errorf("%w: npm ci in %s (installing dt-sql-parser and esbuild as js/package-lock.json pins them; is the npm registry reachable?): %w",
			ErrBuild, tmp, err)
	}
	out := filepath.Join(tmp, "bundle.js")
	if err := run(ctx, tmp, node, filepath.Join("node_modules", "esbuild", "bin", "esbuild"), "validate.js",
		"--bundle", "--platform=node", "--format=cjs", "--log-level=warning", "--outfile="+out); err != nil {
		return fmt.Errorf("%w: esbuild in %s: %w", ErrBuild, tmp, err)
	}
	if err := os.Rename(out, path); err != nil {
		return fmt.Errorf("%w: %v", ErrBuild, err)
	}
	return nil
}

// run runs a program in dir and returns an error that quotes its output
// when it fails.
func run(ctx context.Context, dir, prog string, args ...string) error {
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		err = fmt.Errorf("%v (%w)", err, ctxErr)
	}
	text := strings.TrimSpace(out.String())
	if len(text) > 4000 {
		text = "..." + text[len(text)-4000:]
	}
	if text == "" {
		return err
	}
	return errors.Join(err, errors.New(text))
}
