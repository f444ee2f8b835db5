package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/seamhq/seam/internal/catalog"
)

// loadValid loads the project in dir and refuses to go on when it has
// errors, printing them: running a broken catalog would only hide them.
func (m *Main) loadValid(dir string, w io.Writer) (*catalog.Catalog, error) {
	c, diags := catalog.Load(dir, &catalog.Options{Env: os.LookupEnv})
	if diags.Errors() == 0 {
		return c, nil
	}
	for _, d := range diags {
		if d.Severity == catalog.SevError {
			fmt.Fprintln(w, d.String())
		}
	}
	return nil, &exitError{code: ExitFindings, err: fmt.Errorf("the catalog in %s has %s; fix them first (seam validate %s)", dir, plural(diags.Errors(), "error"), dir)}
}
