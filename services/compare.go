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
	// Removed are running services missing from the next set, for whatever
	// reason: their file was removed, renamed to another name, or is now
	// invalid (then they are in Invalid too).
	Removed []string
	// Invalid is the part of Removed that is missing because its file, or
	// the service, is now invalid (next.Errors has an *Error with its name
	// or its running file): a supervisor keeps those running with their
	// old definition rather than stopping them.
	Invalid []string
}

// Empty reports whether d holds no change to apply: nothing added or
// changed, and every removed service only invalid (kept running).
func (d Diff) Empty() bool {
	return len(d.Added) == 0 && len(d.Changed) == 0 && len(d.Removed) == len(d.Invalid)
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
			d.Removed = append(d.Removed, s.Name)
			if badNames[s.Name] || badFiles[s.File] {
				d.Invalid = append(d.Invalid, s.Name)
			}
		}
	}
	sort.Strings(d.Added)
	sort.Strings(d.Changed)
	sort.Strings(d.Removed)
	sort.Strings(d.Invalid)
	return d
}
