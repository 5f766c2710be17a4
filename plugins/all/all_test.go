package all

import (
	"slices"
	"testing"

	"github.com/corralhq/corral/plugins"
)

// TestRegistered checks that importing the package registers the built-in
// plugins.
func TestRegistered(t *testing.T) {
	names := plugins.Names()
	for _, want := range []string{"hook", "logforward", "serf", "template"} {
		if !slices.Contains(names, want) {
			t.Errorf("plugin %q not registered (have %v)", want, names)
		}
	}
}
