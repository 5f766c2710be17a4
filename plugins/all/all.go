// Package all picks corral's built-in plugins: importing it for its side
// effects registers each of them with the supervisor.
package all

import (
	// hook runs Serf-handler-compatible commands on membership events.
	_ "github.com/corralhq/corral/plugins/hook"
	// logforward ships service logs to a central collector.
	_ "github.com/corralhq/corral/plugins/logforward"
	// serf is the membership agent.
	_ "github.com/corralhq/corral/plugins/serf"
	// template renders a file from membership and reloads a service.
	_ "github.com/corralhq/corral/plugins/template"
)
