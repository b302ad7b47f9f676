package spec

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// evalContext is what a spec's expressions may use: the variable env,
// mage-run's own environment as an object (env.HOME, or
// lookup(env, "PORT", "8080") for one that may be unset), and a few
// functions on strings and collections.
func evalContext(environ []string) *hcl.EvalContext {
	vars := make(map[string]cty.Value, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			vars[k] = cty.StringVal(v)
		}
	}
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{"env": cty.ObjectVal(vars)},
		Functions: specFunctions,
	}
}

// specFunctions are the HCL functions a spec may call; documented in
// docs/mage-run.md.
var specFunctions = map[string]function.Function{
	"coalesce":   stdlib.CoalesceFunc,
	"concat":     stdlib.ConcatFunc,
	"format":     stdlib.FormatFunc,
	"join":       stdlib.JoinFunc,
	"lookup":     stdlib.LookupFunc,
	"lower":      stdlib.LowerFunc,
	"merge":      stdlib.MergeFunc,
	"replace":    stdlib.ReplaceFunc,
	"split":      stdlib.SplitFunc,
	"trimspace":  stdlib.TrimSpaceFunc,
	"upper":      stdlib.UpperFunc,
	"tostring":   stdlib.MakeToFunc(cty.String),
	"tonumber":   stdlib.MakeToFunc(cty.Number),
	"jsonencode": stdlib.JSONEncodeFunc,
}
