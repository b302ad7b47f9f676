package spec

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestDocumentedSpecsAreValid parses every HCL example in the README and
// docs/mage-run.md, so that the documentation cannot drift from the
// format.
func TestDocumentedSpecsAreValid(t *testing.T) {
	block := regexp.MustCompile("(?s)```hcl\n(.*?)```")
	for _, doc := range []string{"../../../../README.md", "../../../../docs/mage-run.md"} {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		examples := block.FindAllSubmatch(text, -1)
		if len(examples) == 0 {
			t.Errorf("%s: no hcl examples", doc)
		}
		for i, m := range examples {
			// The env files an example names are not in the repository:
			// read each as empty.
			opts := Options{Environ: os.Environ(), ReadFile: func(string) ([]byte, error) { return nil, nil }}
			if _, diags := ParseWith(filepath.Base(doc), m[1], opts); diags.HasErrors() {
				t.Errorf("%s, example %d: %s", doc, i+1, diags.Error())
			}
		}
	}
}
