package supervisor

import "github.com/corralhq/corral/services"

// watchDir watches the services directory; a variable so that tests of the
// engine can drive updates by hand.
var watchDir = services.Watch
