package template

import "strconv"

// freeHostPort is where a free slot points; free slots are rendered
// "disabled" and set to maint, so nothing is ever sent there.
const freeHostPort = "127.0.0.1:1"

// slotTable keeps members in the same server slot across renders, so a
// join or leave changes one slot and the runtime API can apply it. The
// rendered file holds the same assignment, so a reload or a restart of
// HAProxy comes back in the state the runtime API left it in.
type slotTable struct {
	prefix string
	chunk  int
	names  []string // member name per slot; "" is free
}

// assign returns the slot names for members: a member keeps its slot, a
// new member takes the lowest free slot, and the table grows by whole
// chunks when the slots run out. t is not changed (see commit).
func (t *slotTable) assign(members []Member) []string {
	want := make(map[string]bool, len(members))
	for _, m := range members {
		want[m.Name] = true
	}
	names := make([]string, len(t.names))
	placed := make(map[string]bool, len(members))
	for i, n := range t.names {
		if n != "" && want[n] {
			names[i] = n
			placed[n] = true
		}
	}
	free := 0
	for _, m := range members {
		if placed[m.Name] {
			continue
		}
		for free < len(names) && names[free] != "" {
			free++
		}
		if free == len(names) {
			grown := make([]string, len(names)+t.chunk)
			copy(grown, names)
			names = grown
		}
		names[free] = m.Name
		placed[m.Name] = true
	}
	if len(names) == 0 {
		names = make([]string, t.chunk)
	}
	return names
}

// commit makes names the current assignment.
func (t *slotTable) commit(names []string) { t.names = names }

// slots builds the template's slot list from an assignment.
func (t *slotTable) slots(names []string, members []Member) []Slot {
	byName := make(map[string]*Member, len(members))
	for i := range members {
		byName[members[i].Name] = &members[i]
	}
	out := make([]Slot, len(names))
	for i, n := range names {
		s := Slot{Name: t.prefix + strconv.Itoa(i+1), HostPort: freeHostPort}
		if m := byName[n]; n != "" && m != nil {
			s.Used, s.Member, s.HostPort = true, m, m.HostPort
		}
		out[i] = s
	}
	return out
}
