package plugin

// PodmanContainer is what Podman knows of a container's capabilities when
// it writes the container's spec: its SpecGenerator's privileged flag,
// --cap-add, --cap-drop, --user, --userns and labels, and containers.conf's
// default_capabilities as loaded.
type PodmanContainer struct {
	Privileged  bool
	Defaults    []string
	Adds, Drops []string
	User        string
	// KeepID is --userns=keep-id, which makes an empty User the invoking
	// user.
	KeepID bool
	// Labels are the container's labels, where Podman finds the image's
	// [ImageLabel].
	Labels map[string]string
}

// PodmanRequest states Podman's capability merge (the capability block of
// securityConfigureGenerator in its pkg/specgen/generate) as a [Request]
// for [Apply]: defaults, adds and drops merged as containers/common's
// MergeCapabilities does, the result narrowed to the image's [ImageLabel]
// when its capabilities are all granted, and a non-root user given the
// added capabilities alone in the effective, permitted, inheritable and
// ambient sets. The caller sets Runtime, Env and Policy.
func PodmanRequest(c PodmanContainer) Request {
	req := Request{
		Privileged: c.Privileged,
		Defaults:   c.Defaults,
		Adds:       c.Adds,
		Drops:      c.Drops,
		User:       c.User,
		KeepID:     c.KeepID,
	}
	if value, ok := c.Labels[ImageLabel]; ok {
		req.ImageLabel = &value
	}
	return req
}
