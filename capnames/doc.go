// Package capnames is the Linux capability table, generated from the kernel's
// own capability header, and a small API over it: name and number
// conversion, parsing of user input, 64-bit capability sets, and probes of the
// running kernel.
//
// The table (zz_generated.go and its language-neutral twin
// capabilities.json) carries for every capability its name, its number and
// the first kernel release that defined it. It is regenerated with
// hack/update-capnames.sh and checked with hack/verify-capnames.sh.
//
// Capabilities are a security boundary, so parsing is strict: names are
// matched in ASCII case only, numerals must be canonical decimals in 0..63,
// and anything else is an error wrapping [ErrUnknown]. A capability number
// the table does not name (a kernel newer than the table, or a vendor fork)
// is still a valid [Cap]; it prints as its decimal number.
package capnames

//go:generate go run ../cmd/capgen generate --from-json capabilities.json --out .
