// Package s6 makes corral a drop-in replacement for s6-overlay v3: it reads
// the trees an s6-overlay image is made of and turns them into corral
// services, ordered as s6-overlay's stage 2 orders them.
//
// What it reads (Layout has the paths):
//
//   - /etc/s6-overlay/s6-rc.d (and /etc/s6-overlay/user-bundles.d): s6-rc
//     source definitions, with s6-rc-compile's rules (Read);
//   - /etc/services.d/<name>/: legacy longruns, with their log/ loggers;
//   - /etc/cont-init.d, /etc/cont-finish.d, /etc/fix-attrs.d: run at boot
//     and at shutdown by corral's runners (the applets in package
//     s6/applets), as s6-overlay's legacy-cont-init and fix-attrs do.
//
// The graph is s6-overlay's (Translate): fix-attrs, then legacy-cont-init
// (the bundle base), the bundle user in dependency order, legacy-services
// (the /etc/services.d longruns), user2, then the main command. Bundles
// are expanded into their members; user and user2 are synthesised when the
// image only fills their contents.d; the internal names base,
// legacy-cont-init, legacy-services, fix-attrs and top can be depended on.
// /etc/cont-finish.d runs as the stop command of a oneshot every s6
// service comes after, so it runs once they are all down.
//
// Whatever corral cannot honour is reported with its path: an error
// (Problem.Fatal) leaves the service out, a warning keeps it.
package s6
