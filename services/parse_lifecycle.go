package services

import (
	"fmt"
)

// lifecycle reads the keys that shape a service's life beyond its command:
// wants, autostart, finish, finish_timeout, stop_command, stdout_to and
// clear_env. Names are checked across files by Load.
func (p *parser) lifecycle(raw *rawService, s *Service, lookup func(string) (string, bool)) error {
	seen := make(map[string]bool, len(raw.Wants))
	for i, w := range raw.Wants {
		path := []string{"wants", fmt.Sprintf("[%d]", i)}
		switch {
		case w == s.Name:
			return p.errorf([]string{"wants"}, "service %q cannot want itself", w)
		case !ValidName(w):
			return p.errorf(path, "bad service name %q", w)
		case !seen[w]:
			seen[w] = true
			s.Wants = append(s.Wants, w)
		}
	}
	s.Autostart = raw.Autostart == nil || *raw.Autostart
	s.ClearEnv = raw.ClearEnv
	if raw.Finish != nil {
		if s.Type != Longrun || s.Plugin != "" {
			return p.errorf([]string{"finish"}, "finish runs after a longrun's process exits; this service is not a longrun process")
		}
		argv, err := p.command([]string{"finish"}, raw.Finish, lookup)
		if err != nil {
			return err
		}
		s.Finish = argv
	}
	var err error
	if s.FinishTimeout, err = p.duration([]string{"finish_timeout"}, raw.FinishTimeout, DefaultFinishTimeout); err != nil {
		return err
	}
	if raw.StopCommand != nil {
		if s.Type != Oneshot {
			return p.errorf([]string{"stop_command"}, "stop_command undoes a oneshot and needs type = \"oneshot\"")
		}
		argv, err := p.command([]string{"stop_command"}, raw.StopCommand, lookup)
		if err != nil {
			return err
		}
		s.StopCommand = argv
	}
	if raw.StdoutTo != "" {
		switch {
		case raw.StdoutTo == s.Name:
			return p.errorf([]string{"stdout_to"}, "a service cannot read its own output")
		case !ValidName(raw.StdoutTo):
			return p.errorf([]string{"stdout_to"}, "bad service name %q", raw.StdoutTo)
		case s.Plugin != "":
			return p.errorf([]string{"stdout_to"}, "a plugin has no standard output to pipe")
		}
		s.StdoutTo = raw.StdoutTo
	}
	return nil
}
