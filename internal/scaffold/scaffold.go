// Package scaffold writes a new, working Seam project: the SPEC's e-shop
// case, commented so that a newcomer learns the format by reading it.
package scaffold

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/seamhq/seam/internal/catalog"
)

//go:embed project
var projectFS embed.FS

// Write creates the project in dir and returns the files written, relative
// to dir. It refuses to overwrite an existing project unless force is set.
func Write(dir string, force bool) ([]string, error) {
	if _, err := os.Stat(filepath.Join(dir, "seam.yaml")); err == nil && !force {
		return nil, fmt.Errorf("%s already has a seam.yaml; use --force to overwrite the scaffold files", dir)
	}
	var files []string
	err := fs.WalkDir(projectFS, "project", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := projectFS.ReadFile(path)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(path, "project/")
		if name == "gitignore" {
			// Stored without the dot so that it does not apply to this repo.
			name = ".gitignore"
		}
		files = append(files, name)
		return writeFile(filepath.Join(dir, name), b)
	})
	if err != nil {
		return nil, err
	}
	for _, kind := range catalog.SchemaKinds {
		b, _ := catalog.Schema(kind)
		name := filepath.Join(".seam", "schema", kind+".schema.json")
		if err := writeFile(filepath.Join(dir, name), b); err != nil {
			return nil, err
		}
		files = append(files, name)
	}
	return files, nil
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
