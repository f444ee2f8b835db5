package plan_test

import (
	"bytes"
	"context"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/plan"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/*.txtar")

func noEnv(string) (string, bool) { return "", false }

var bases = map[string]string{
	"scaffold": "../scaffold/project",
	"messy":    "../audit/testdata/messy",
}

// copyDir copies a project into a new temporary folder.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	require.NoError(t, err)
	return dir
}

// TestGolden runs each testdata/*.txtar: its comment names the base
// project ("base: scaffold"); its files overwrite the base's in the new
// version (a section named -delete-/PATH removes PATH); want is the text
// plan, and want.json, when present, the JSON one.
func TestGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.txtar")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			t.Parallel()
			ar, err := txtar.ParseFile(file)
			require.NoError(t, err)
			base := ""
			for _, line := range strings.Split(string(ar.Comment), "\n") {
				if b, ok := strings.CutPrefix(line, "base: "); ok {
					base = bases[strings.TrimSpace(b)]
				}
			}
			require.NotEmpty(t, base, "say base: scaffold or base: messy in the comment")
			newDir := copyDir(t, base)
			for _, f := range ar.Files {
				switch {
				case f.Name == "want" || f.Name == "want.json":
				case strings.HasPrefix(f.Name, "-delete-/"):
					require.NoError(t, os.Remove(filepath.Join(newDir, strings.TrimPrefix(f.Name, "-delete-/"))))
				default:
					p := filepath.Join(newDir, f.Name)
					require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
					require.NoError(t, os.WriteFile(p, f.Data, 0o644))
				}
			}
			oldC, oldD := catalog.Load(base, &catalog.Options{Env: noEnv})
			newC, newD := catalog.Load(newDir, &catalog.Options{Env: noEnv})
			p := plan.Diff(oldC, oldD, newC, newD)
			p.Old, p.New = "old", "new"
			var text, js bytes.Buffer
			require.NoError(t, plan.Write(&text, p, "text"))
			require.NoError(t, plan.Write(&js, p, "json"))
			wantJSON := false
			for i := range ar.Files {
				switch ar.Files[i].Name {
				case "want":
					if *update {
						ar.Files[i].Data = text.Bytes()
					} else {
						require.Equal(t, string(ar.Files[i].Data), text.String())
					}
				case "want.json":
					wantJSON = true
					if *update {
						ar.Files[i].Data = js.Bytes()
					} else {
						require.JSONEq(t, string(ar.Files[i].Data), js.String())
					}
				}
			}
			if *update {
				if !hasFile(ar, "want") {
					ar.Files = append(ar.Files, txtar.File{Name: "want", Data: text.Bytes()})
				}
				require.NoError(t, os.WriteFile(file, txtar.Format(ar), 0o644))
			}
			_ = wantJSON
		})
	}
}

func hasFile(ar *txtar.Archive, name string) bool {
	for _, f := range ar.Files {
		if f.Name == name {
			return true
		}
	}
	return false
}

// TestResolveGitRevision reads a project from a git revision of a
// throwaway repository, as `seam plan HEAD~1 HEAD` does.
func TestResolveGitRevision(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	repo := t.TempDir()
	env := append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@x.example", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@x.example")
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	project := filepath.Join(repo, "shop")
	require.NoError(t, os.CopyFS(project, os.DirFS(bases["scaffold"])))
	run("init", "-q")
	run("add", ".")
	run("commit", "-q", "-m", "first")
	flow := filepath.Join(project, "flows", "eshop-orders.yaml")
	b, err := os.ReadFile(flow)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(flow, bytes.Replace(b, []byte("key: in.order_no"), []byte("key: in.id"), 1), 0o644))
	run("commit", "-q", "-am", "second")

	git := func(ctx context.Context, dir string, args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		cmd.Env = env
		return cmd.Output()
	}
	ctx := context.Background()
	oldDir, cleanOld, err := plan.Resolve(ctx, git, "HEAD~1", project)
	require.NoError(t, err)
	defer cleanOld()
	newDir, cleanNew, err := plan.Resolve(ctx, git, "HEAD:shop", repo)
	require.NoError(t, err)
	defer cleanNew()
	oldC, oldD := catalog.Load(oldDir, &catalog.Options{Env: noEnv})
	newC, newD := catalog.Load(newDir, &catalog.Options{Env: noEnv})
	p := plan.Diff(oldC, oldD, newC, newD)
	require.Equal(t, 1, p.Breaking)
	require.Equal(t, "key", p.Changes[0].Object)

	// A folder is used as it is, and an unknown revision says so.
	dir, clean, err := plan.Resolve(ctx, git, project, project)
	require.NoError(t, err)
	clean()
	require.Equal(t, project, dir)
	_, _, err = plan.Resolve(ctx, git, "no-such-branch", project)
	require.ErrorContains(t, err, "neither a folder nor a git revision")

	cleanOld()
	_, err = os.Stat(oldDir)
	require.True(t, os.IsNotExist(err), "cleanup removes the extracted revision")
}
