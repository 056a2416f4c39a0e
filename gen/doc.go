// Package gen builds the capability table of package capnames from the
// Linux kernel's own capability header.
//
// # Parsing a header
//
// [ParseHeader] reads the capability numbering out of a header in either of
// the kernel's layouts: the uapi header include/uapi/linux/capability.h (also
// installed as /usr/include/linux/capability.h) and the pre-3.7
// include/linux/capability.h with its #ifdef __KERNEL__ sections, static
// inline functions and multi-line macros. [ReadHeader] reads a file and finds
// its kernel version in a version.h beside it; [KernelTreeHeader] finds the
// header and the version in a kernel source tree.
//
// The parser works like the C preprocessor as far as the numbering needs:
// lines continued with a backslash are joined, and comments (including
// multi-line comments that mention CAP_ names) are removed before anything
// is read. A capability is then an object-like macro
//
//	#define CAP_<NAME> <decimal>
//
// with a value in 0..63. A macro whose value is a single other CAP_ name is an
// alias (CAP_LAST_CAP, or vendor names such as OpenVZ's CAP_VE_NET_ADMIN); it
// is resolved, through chains of aliases, to a capability and never adds one.
// Function-like macros (CAP_TO_MASK(x)), and macros with any other value
// (CAP_FS_MASK 0x1f, CAP_EMPTY_SET, backslash-continued expressions) are not
// capabilities.
//
// Preprocessor conditionals are not evaluated: a header describes one
// kernel's numbering, so a #define counts wherever it stands, inside #ifdef
// __KERNEL__, #ifdef CONFIG_VE or neither. The one concession is an alias
// that names different capabilities in the arms of one #if/#else: the header
// alone cannot say which arm the kernel was built with, so such an alias is
// reported as a warning and left out of [Header.Aliases].
//
// Capabilities are a security boundary, and a table that is off by one grants
// a privilege nobody asked for. Every doubt is therefore an error wrapping
// [ErrInvalidHeader] that names the file and line, and both lines when two
// definitions conflict: a name defined twice with different values, two
// names with one value, a value outside 0..63 or written with a leading zero
// (octal in C), CAP_LAST_CAP naming an undefined capability or one that is not
// the largest, an alias naming an undefined capability, a header without any
// capability, an unterminated comment, a merge-conflict marker, NUL bytes,
// overlong lines and files larger than [MaxHeaderSize]. Gaps in the
// numbering, which vendor forks have, are accepted and reported in
// [Header.Warnings].
//
// # Kernel versions
//
// A header's kernel version is given by hand (dotted decimal, "6.1" to
// "2.6.18.8"), read by [ReadHeader] from a version.h beside the header
// ([VersionFromVersionH]) or by [KernelTreeHeader] from a kernel tree's top
// Makefile ([VersionFromMakefile]). Errors about versions wrap
// [ErrInvalidVersion].
//
// # Merging sources
//
// [Merge] combines the committed [Table], parsed headers and the
// since-versions of capabilities(7) ([ParseManPage]) into one table. Names
// and numbers must agree across all of them; a capability's since-version
// comes from the committed table or the man page, else from the oldest
// versioned header that defines it. Any disagreement is an error wrapping
// [ErrConflict] that names both sources.
//
// # Writing the table
//
// A [Table] is written twice: as the language-neutral capabilities.json
// ([Table.MarshalIndent], read back with [ReadTable]) and as Go source by
// [EmitGo], which uses github.com/dave/jennifer. Both depend on the table
// alone, so regenerating gives identical bytes.
package gen
