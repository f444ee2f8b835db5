package plan

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// GitFunc runs git with args in dir and returns its standard output.
type GitFunc func(ctx context.Context, dir string, args ...string) ([]byte, error)

// RunGit is the GitFunc that runs the git on PATH.
func RunGit(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("git %s: %s", strings.Join(args, " "), msg)
	}
	return out, nil
}

// Resolve turns a plan argument into a project folder. An existing folder
// is used as it is. Anything else is a git revision of the repository
// that holds dir: REV (the project at dir's place in the repository, as
// of REV) or REV:PATH (the project at PATH, from the repository's root).
// The revision is extracted with git archive into a temporary folder;
// cleanup removes it. Nothing in the repository or its work tree changes.
func Resolve(ctx context.Context, git GitFunc, arg, dir string) (project string, cleanup func(), err error) {
	if st, err := os.Stat(arg); err == nil && st.IsDir() {
		return arg, func() {}, nil
	}
	if git == nil {
		git = RunGit
	}
	rev, sub, hasPath := strings.Cut(arg, ":")
	root, err := git(ctx, dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", nil, fmt.Errorf("%s is not a folder, and %s is not in a git repository to read it as a revision from: %w", arg, dir, err)
	}
	top := strings.TrimSpace(string(root))
	if !hasPath {
		prefix, err := git(ctx, dir, "rev-parse", "--show-prefix")
		if err != nil {
			return "", nil, err
		}
		sub = strings.TrimSpace(string(prefix))
	}
	sub = strings.Trim(path.Clean("/"+filepath.ToSlash(sub)), "/")
	if _, err := git(ctx, top, "rev-parse", "--verify", "--quiet", rev+"^{commit}"); err != nil {
		return "", nil, fmt.Errorf("%s is neither a folder nor a git revision", arg)
	}
	args := []string{"archive", "--format=tar", rev}
	if sub != "" {
		args = append(args, "--", sub)
	}
	archive, err := git(ctx, top, args...)
	if err != nil {
		return "", nil, err
	}
	tmp, err := os.MkdirTemp("", "seam-plan-*")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { _ = os.RemoveAll(tmp) }
	if err := untar(bytes.NewReader(archive), tmp); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("extract %s: %w", arg, err)
	}
	project = filepath.Join(tmp, filepath.FromSlash(sub))
	if _, err := os.Stat(filepath.Join(project, "seam.yaml")); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("%s has no seam.yaml at %s", rev, or(sub, "the repository's root"))
	}
	return project, cleanup, nil
}

// untar extracts regular files and folders, refusing paths that would
// land outside dir.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(h.Name)
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("unsafe path %q in the archive", h.Name)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, io.LimitReader(tr, 64<<20))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}
