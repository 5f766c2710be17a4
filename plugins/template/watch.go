package template

import "github.com/corralhq/corral/plugins"

// Topics returns the membership topic.
func (p *Plugin) Topics() []string { return []string{plugins.TopicMembership} }

// HandleEvent keeps the alive list of a membership event and wakes the
// render loop. Only the latest list matters: renders use the full list.
func (p *Plugin) HandleEvent(ev plugins.Event) {
	var me plugins.MembershipEvent
	switch v := ev.Payload.(type) {
	case plugins.MembershipEvent:
		me = v
	case *plugins.MembershipEvent:
		if v == nil {
			return
		}
		me = *v
	default:
		return
	}
	alive := make([]plugins.Member, len(me.Alive))
	copy(alive, me.Alive)
	p.mu.Lock()
	p.alive = alive
	p.haveEvent = true
	p.mu.Unlock()
	p.notify()
}
