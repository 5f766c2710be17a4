package template

import "github.com/corralhq/corral/supervisor"

// Topics returns the membership topic.
func (p *Plugin) Topics() []string { return []string{supervisor.TopicMembership} }

// HandleEvent keeps the alive list of a membership event and wakes the
// render loop. Only the latest list matters: renders use the full list.
func (p *Plugin) HandleEvent(ev supervisor.Event) {
	var me supervisor.MembershipEvent
	switch v := ev.Payload.(type) {
	case supervisor.MembershipEvent:
		me = v
	case *supervisor.MembershipEvent:
		if v == nil {
			return
		}
		me = *v
	default:
		return
	}
	alive := make([]supervisor.Member, len(me.Alive))
	copy(alive, me.Alive)
	p.mu.Lock()
	p.alive = alive
	p.haveEvent = true
	p.st.events++
	p.mu.Unlock()
	p.notify()
}
