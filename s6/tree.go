package s6

import (
	"path/filepath"
	"sort"
	"strings"

	"github.com/corralhq/corral/services"
)

// The names s6-overlay defines itself, which images depend on.
const (
	// FixAttrs applies /etc/fix-attrs.d.
	FixAttrs = "fix-attrs"
	// LegacyContInit runs /etc/cont-init.d.
	LegacyContInit = "legacy-cont-init"
	// LegacyServices starts the /etc/services.d longruns.
	LegacyServices = "legacy-services"
	// Base is the bundle of fix-attrs and legacy-cont-init.
	Base = "base"
	// User and User2 are the images' bundles.
	User  = "user"
	User2 = "user2"
	// Top is everything started at boot.
	Top = "top"
	// ContFinish is corral's own: a oneshot that every s6 service comes
	// after, whose stop runs /etc/cont-finish.d once they are all down.
	ContFinish = "legacy-cont-finish"
)

// reserved are names an image cannot define.
var reserved = map[string]bool{FixAttrs: true, LegacyContInit: true, LegacyServices: true, Base: true, Top: true, ContFinish: true}

// Tree is what an image's s6 trees define.
type Tree struct {
	// Layout is where it was read from.
	Layout Layout
	// Defs are the usable definitions by name, the internal ones included.
	Defs map[string]*Definition
	// Problems are errors (their service is left out) and warnings.
	Problems []*Problem
	// ContFinish tells whether /etc/cont-finish.d exists.
	ContFinish bool
}

// Read reads the s6 trees of l. provided reports the programs corral
// provides itself (see execline.Parse).
func Read(l Layout, provided func(string) bool) *Tree {
	r := &reader{provided: provided}
	if l.Root != "" && l.Root != "/" {
		r.root = l.Root
	}
	t := &Tree{Layout: l, Defs: map[string]*Definition{}}
	t.ContFinish = isDir(l.ContFinishDir())

	var defs []*Definition
	src := l.SourceDir()
	defs = append(defs, r.readSourceDir(src)...)
	if bd := l.BundleDir(); isDir(bd) {
		if isDir(filepath.Join(src, User)) {
			// s6-overlay 3.2.3.2 drops user-bundles.d in this case.
			r.probs.warn(bd, "", "ignored: %s exists, and s6-overlay then reads the bundles from there", filepath.Join(src, User))
		} else {
			defs = append(defs, r.readSourceDir(bd)...)
		}
	}
	defs = append(defs, r.readServicesDir(l.ServicesDir())...)

	// Names are global: a name defined twice is an error for every copy;
	// the internal names cannot be defined.
	byName := map[string][]*Definition{}
	for _, d := range defs {
		byName[d.Name] = append(byName[d.Name], d)
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ds := byName[n]
		switch {
		case reserved[n] || strings.HasPrefix(n, "s6rc-") || strings.HasPrefix(n, "s6-rc-"):
			for _, d := range ds {
				r.probs.fatal(d.Dir, n, "the name %q is reserved by s6-overlay", n)
			}
		case len(ds) > 1:
			for _, d := range ds {
				r.probs.fatal(d.Dir, n, "service %q is defined %d times (%s)", n, len(ds), dirsOf(ds))
			}
		case !services.ValidName(n):
			r.probs.fatal(ds[0].Dir, n, "the name %q cannot name a corral service (letters, digits, '.', '_' and '-', starting with a letter or digit)", n)
		default:
			t.Defs[n] = ds[0]
		}
	}
	t.addInternal()
	t.Problems = r.probs
	return t
}

func dirsOf(ds []*Definition) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.Dir)
	}
	return strings.Join(s, ", ")
}

// addInternal adds s6-overlay's own definitions (its sources/ directory)
// and the user bundles when the image has none.
func (t *Tree) addInternal() {
	l := t.Layout
	add := func(d *Definition) { t.Defs[d.Name] = d }
	add(&Definition{Name: FixAttrs, Dir: l.FixAttrsDir(), Kind: Oneshot})
	add(&Definition{Name: LegacyContInit, Dir: l.ContInitDir(), Kind: Oneshot, Deps: []string{FixAttrs}})
	add(&Definition{Name: Base, Dir: "(s6-overlay)", Kind: Bundle, Contents: []string{FixAttrs, LegacyContInit}})
	add(&Definition{Name: LegacyServices, Dir: l.ServicesDir(), Kind: Oneshot, Deps: []string{Base, User}})
	add(&Definition{Name: Top, Dir: "(s6-overlay)", Kind: Bundle, Contents: []string{Base, LegacyServices, User, User2}})
	for _, n := range []string{User, User2} {
		if t.Defs[n] == nil {
			add(&Definition{Name: n, Dir: filepath.Join(l.SourceDir(), n), Kind: Bundle, Synthesised: true})
		}
	}
	if t.ContFinish {
		add(&Definition{Name: ContFinish, Dir: l.ContFinishDir(), Kind: Oneshot})
	}
}
