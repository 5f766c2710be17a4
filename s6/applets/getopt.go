package applets

import (
	"errors"
	"strings"
)

// getopt parses options the way skarnet's subgetopt does: single letters,
// clustered (-abc), an option taking an argument gets the rest of its word
// or the next word ("n:" in spec), "--" ends the options, and so does the
// first word not starting with '-'.
type getopt struct {
	args []string
	spec string
	i    int // next word
	j    int // position inside a cluster (0: not in one)
}

var errBadOption = errors.New("bad option")

// next returns the next option letter and its argument; opt is 0 at the
// end of the options.
func (g *getopt) next() (opt byte, arg string, err error) {
	if g.j == 0 {
		if g.i >= len(g.args) {
			return 0, "", nil
		}
		w := g.args[g.i]
		if w == "--" {
			g.i++
			return 0, "", nil
		}
		if len(w) < 2 || w[0] != '-' {
			return 0, "", nil
		}
		g.j = 1
	}
	w := g.args[g.i]
	c := w[g.j]
	g.j++
	k := strings.IndexByte(g.spec, c)
	if k < 0 || c == ':' {
		return 0, "", errBadOption
	}
	if k+1 < len(g.spec) && g.spec[k+1] == ':' {
		if g.j < len(w) {
			arg = w[g.j:]
		} else {
			g.i++
			if g.i >= len(g.args) {
				return 0, "", errBadOption
			}
			arg = g.args[g.i]
		}
		g.i++
		g.j = 0
		return c, arg, nil
	}
	if g.j >= len(w) {
		g.i++
		g.j = 0
	}
	return c, "", nil
}

// rest returns the words after the options.
func (g *getopt) rest() []string { return g.args[g.i:] }
