package services

import (
	"errors"
	"sort"
)

// Diff is what changes from one Set to the next. Every list holds sorted names.
type Diff struct {
	// Added are services in the next set only.
	Added []string
	// Changed are services in both sets whose Hash differs.
	Changed []string
	// Removed are running services that are gone from the next set: their
	// file was removed (or renamed to another name), not made invalid.
	Removed []string
	// Invalid are running services missing from the next set because their
	// file (or the service) is now invalid; see next.Errors. The running
	// version keeps running: they are in neither Changed nor Removed.
	Invalid []string
}

// Empty reports whether d holds no change to apply.
func (d Diff) Empty() bool {
	return len(d.Added) == 0 && len(d.Changed) == 0 && len(d.Removed) == 0
}

// Compare tells what applying next over running changes. Either may be nil
// (an empty set).
func Compare(running, next *Set) Diff {
	var d Diff
	badNames, badFiles := map[string]bool{}, map[string]bool{}
	if next != nil {
		for _, err := range next.Errors {
			var e *Error
			if errors.As(err, &e) {
				badNames[e.Service] = true
				badFiles[e.File] = true
			}
		}
	}
	if next != nil {
		for _, s := range next.Services {
			old := running.Get(s.Name)
			switch {
			case old == nil:
				d.Added = append(d.Added, s.Name)
			case old.Hash != s.Hash:
				d.Changed = append(d.Changed, s.Name)
			}
		}
	}
	if running != nil {
		for _, s := range running.Services {
			if next.Get(s.Name) != nil {
				continue
			}
			if badNames[s.Name] || badFiles[s.File] {
				d.Invalid = append(d.Invalid, s.Name)
			} else {
				d.Removed = append(d.Removed, s.Name)
			}
		}
	}
	sort.Strings(d.Added)
	sort.Strings(d.Changed)
	sort.Strings(d.Removed)
	sort.Strings(d.Invalid)
	return d
}
