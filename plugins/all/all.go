// Package all picks corral's built-in plugins: importing it for its side
// effects registers each of them with the supervisor.
package all

import (
	// hook runs Serf-handler-compatible commands on membership events.
	_ "github.com/corralhq/corral/plugins/hook"
	// serf is the membership agent.
	_ "github.com/corralhq/corral/plugins/serf"
	// template and logforward are added here once their packages are
	// committed.
)
