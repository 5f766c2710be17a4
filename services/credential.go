package services

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// ResolveCredential turns user and group (names or numeric ids; either may be
// empty) into ids. A numeric id that is not in /etc/passwd or /etc/group is
// used as it is (a numeric user without an entry gets the same number as its
// group and "/" as home); a name that is not found is an error. With only a
// group, the user stays corral's own. Parse calls it; the supervisor may call
// it again at spawn time when a oneshot changes /etc/passwd (as images that
// remap a user's uid from PUID/PGID at start do).
func ResolveCredential(userName, groupName string) (*Credential, error) {
	if userName == "" && groupName == "" {
		return nil, nil
	}
	c := &Credential{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
	if userName != "" {
		u, err := lookupUser(userName)
		if err != nil {
			return nil, err
		}
		c.UID, c.GID, c.Home = u.uid, u.gid, u.home
		c.Groups = u.groups
	}
	if groupName != "" {
		gid, err := lookupGroup(groupName)
		if err != nil {
			return nil, err
		}
		c.GID = gid
	}
	return c, nil
}

// resolvedUser is a user found in the user database.
type resolvedUser struct {
	uid, gid uint32
	home     string
	groups   []uint32
}

func lookupUser(name string) (resolvedUser, error) {
	n, numErr := strconv.ParseUint(name, 10, 32)
	var u *user.User
	var err error
	if numErr == nil {
		u, err = user.LookupId(name)
	} else {
		u, err = user.Lookup(name)
	}
	var unknownID user.UnknownUserIdError
	var unknownName user.UnknownUserError
	switch {
	case numErr == nil && errors.As(err, &unknownID):
		return resolvedUser{uid: uint32(n), gid: uint32(n), home: "/"}, nil
	case errors.As(err, &unknownName) || errors.As(err, &unknownID):
		return resolvedUser{}, fmt.Errorf("unknown user %q", name)
	case err != nil:
		return resolvedUser{}, fmt.Errorf("looking up user %q: %w", name, err)
	}
	r := resolvedUser{home: u.HomeDir}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return resolvedUser{}, fmt.Errorf("user %q has non-numeric ids %s:%s", name, u.Uid, u.Gid)
	}
	r.uid, r.gid = uint32(uid), uint32(gid)
	ids, err := u.GroupIds()
	if err != nil {
		return resolvedUser{}, fmt.Errorf("listing groups of user %q: %w", name, err)
	}
	for _, id := range ids {
		if g, err := strconv.ParseUint(id, 10, 32); err == nil {
			r.groups = append(r.groups, uint32(g))
		}
	}
	return r, nil
}

func lookupGroup(name string) (uint32, error) {
	n, numErr := strconv.ParseUint(name, 10, 32)
	var g *user.Group
	var err error
	if numErr == nil {
		g, err = user.LookupGroupId(name)
	} else {
		g, err = user.LookupGroup(name)
	}
	var unknownID user.UnknownGroupIdError
	var unknownName user.UnknownGroupError
	switch {
	case numErr == nil && errors.As(err, &unknownID):
		return uint32(n), nil
	case errors.As(err, &unknownName) || errors.As(err, &unknownID):
		return 0, fmt.Errorf("unknown group %q", name)
	case err != nil:
		return 0, fmt.Errorf("looking up group %q: %w", name, err)
	}
	gid, err := strconv.ParseUint(g.Gid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("group %q has a non-numeric id %s", name, g.Gid)
	}
	return uint32(gid), nil
}

// Sys returns c as the credential a process is started with (nil for nil).
func (c *Credential) Sys() *syscall.Credential {
	if c == nil {
		return nil
	}
	return &syscall.Credential{Uid: c.UID, Gid: c.GID, Groups: c.Groups}
}
