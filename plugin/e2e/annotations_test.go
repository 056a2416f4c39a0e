package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/capgen-dev/capgen/plugin"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
)

// Regression test for the escalation fixed after 2d0648b: capgen's hook
// widened every container annotated io.github.capgen-dev.capabilities=all,
// and podman 4.3.1 copies an image's annotations into the spec, so an image
// carried its own escalation. Images built by buildah carry every
// annotation and label capgen reads, set to each value that once meant
// something; run by Debian's podman 4.3.1 through the hook (as installed,
// and with --widen-privileged) and through the shim, with no flags,
// --cap-drop all and --user 1000, each container gets exactly what the same
// image gets from the unmodified engine, and an image with annotations only
// gets what the plain image gets.

// annotationValues are the values each image sets every annotation and
// label to.
var annotationValues = []string{"all", "ALL", "TRUE", "garbage"}

// annotatedImage is an image the test builds.
type annotatedImage struct {
	name     string
	labelled bool // carries the io.containers.capabilities label too
}

// buildAnnotatedImages commits, with buildah, one image per value with
// every annotation capgen reads, and one with the label as well.
func (e *engines) buildAnnotatedImages(t *testing.T) []annotatedImage {
	t.Helper()
	var images []annotatedImage
	for _, v := range annotationValues {
		for _, labelled := range []bool{false, true} {
			img := annotatedImage{name: "localhost/capgen-e2e-annotated-" + strings.ToLower(v), labelled: labelled}
			args := []string{"config",
				"--annotation", plugin.CapabilitiesAnnotation + "=" + v,
				"--annotation", plugin.PodmanPrivilegedAnnotation + "=" + v,
				"--annotation", ociruntime.ShimAnnotation + "=" + v}
			if labelled {
				img.name = "localhost/capgen-e2e-labelled-" + strings.ToLower(v)
				args = append(args, "--label", plugin.ImageLabel+"="+v)
			}
			if v == "ALL" {
				img.name += "-upper"
			}
			e.commitImage(t, img.name, args)
			images = append(images, img)
		}
	}
	return images
}

// commitImage makes image from e.image with buildah config args.
func (e *engines) commitImage(t *testing.T, image string, config []string) {
	t.Helper()
	name := containerID(t)
	if _, err := e.run(e.buildah, append(e.storage, "from", "--name", name, e.image)...); err != nil {
		t.Fatal(err)
	}
	defer e.run(e.buildah, append(e.storage, "rm", name)...)
	if _, err := e.run(e.buildah, append(append(e.storage, config...), name)...); err != nil {
		t.Fatal(err)
	}
	if _, err := e.run(e.buildah, append(e.storage, "commit", "--format", "oci", name, image)...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.run(e.buildah, append(e.storage, "rmi", "--force", image)...) })
}

// outcome is what a podman run ended with: the container's sets, or that
// podman refused it.
type outcome struct {
	sets    plugin.Sets
	refused bool
}

func (o outcome) String() string {
	if o.refused {
		return "refused"
	}
	return fmt.Sprintf("CapEff %s CapBnd %s", o.sets.Effective.Bitmap(), o.sets.Bounding.Bitmap())
}

func (e *engines) podmanOutcome(t *testing.T, runtime, hooksDir, image string, opts ...string) outcome {
	t.Helper()
	out, err := e.podmanTry(runtime, hooksDir, image, opts...)
	if err != nil {
		if strings.Contains(out, "capabilities requested by user or image are not valid") {
			return outcome{refused: true} // podman's own check of the label
		}
		t.Fatal(err)
	}
	return outcome{sets: mustStatus(t, out)}
}

func TestE2EAnnotationsNeverWiden(t *testing.T) {
	e := requireEngines(t)
	images := e.buildAnnotatedImages(t)
	flagSets := [][]string{nil, {"--cap-drop", "all"}, {"--user", "1000"}}
	// The user's own annotations, on the plain image: podman 4.3.1 writes
	// its privileged marker over the user's value.
	userAnnotations := []string{"--annotation", plugin.CapabilitiesAnnotation + "=all", "--annotation", plugin.PodmanPrivilegedAnnotation + "=TRUE"}
	for _, er := range e.runtimes {
		t.Run(er.r.name, func(t *testing.T) {
			modes := []struct{ name, runtime, hooks string }{
				{"hook", er.path, e.writeHook(t, er.path)},
				{"hook --widen-privileged", er.path, e.writeHook(t, er.path, "--widen-privileged")},
				{"shim", er.shim, ""},
			}
			for _, flags := range flagSets {
				what := "no flags"
				if flags != nil {
					what = strings.Join(flags, " ")
				}
				plain := e.podmanOutcome(t, er.path, "", e.image, flags...)
				t.Logf("%s, plain image, unmodified podman: %v", what, plain)
				check := func(image string, want outcome, opts []string) {
					t.Helper()
					for _, m := range modes {
						got := e.podmanOutcome(t, m.runtime, m.hooks, image, opts...)
						if got != want {
							t.Errorf("%s, %s through the %s: %v; want %v", what, image, m.name, got, want)
						} else {
							t.Logf("%s, %s through the %s: %v", what, image, m.name, got)
						}
					}
				}
				check(e.image, plain, append(append([]string{}, userAnnotations...), flags...))
				for _, img := range images {
					want := plain
					if img.labelled {
						// podman reads the label itself: the unmodified engine's
						// answer for this image is the expectation.
						want = e.podmanOutcome(t, er.path, "", img.name, flags...)
					} else if base := e.podmanOutcome(t, er.path, "", img.name, flags...); base != plain {
						t.Fatalf("%s: unmodified podman gives %s %v, the plain image %v", what, img.name, base, plain)
					}
					check(img.name, want, flags)
				}
			}
		})
	}
}
