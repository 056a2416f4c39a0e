// Command benchpair times two commands in alternation, for
// hack/bench-processes.sh: on a shared VM a slow phase of a few seconds
// lands on all the runs of whichever command hyperfine times then, and
// moves the difference of two medians by more than the shim costs. Each
// round runs the prepare command (with sh -c), times one command, runs
// prepare again and times the other, the first of them alternating
// between rounds; the commands run without a shell, their standard
// streams on /dev/null, as hyperfine -N runs them.
//
// Usage: benchpair -runs N -prepare 'SHELL COMMAND' -a 'CMD ARGS' -b 'CMD ARGS'
//
// It prints the median and minimum of each in ms, and the median of the
// rounds' differences b - a.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

func main() {
	runs := flag.Int("runs", 30, "rounds")
	prepare := flag.String("prepare", "", "shell command run before each timed command")
	a := flag.String("a", "", "the anchor command, its words separated by spaces")
	b := flag.String("b", "", "the command compared with it")
	flag.Parse()
	if *a == "" || *b == "" || *runs < 1 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: benchpair -runs N [-prepare 'SHELL COMMAND'] -a 'CMD ARGS' -b 'CMD ARGS'")
		os.Exit(2)
	}
	var ta, tb, diff []float64
	for i := range *runs {
		first, second := *a, *b
		if i%2 == 1 {
			first, second = *b, *a
		}
		d1, err := timed(*prepare, first)
		if err != nil {
			fail(err)
		}
		d2, err := timed(*prepare, second)
		if err != nil {
			fail(err)
		}
		if i%2 == 1 {
			d1, d2 = d2, d1
		}
		ta, tb, diff = append(ta, d1), append(tb, d2), append(diff, d2-d1)
	}
	fmt.Printf("a: median %.2f ms, min %.2f ms\nb: median %.2f ms, min %.2f ms\nb - a: median %.2f ms over %d alternating rounds\n",
		median(ta), slices.Min(ta), median(tb), slices.Min(tb), median(diff), *runs)
}

// timed runs prepare, then times command; both must succeed.
func timed(prepare, command string) (float64, error) {
	if prepare != "" {
		if out, err := exec.Command("sh", "-c", prepare).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("prepare: %v: %s", err, out)
		}
	}
	words := strings.Fields(command)
	cmd := exec.Command(words[0], words[1:]...) // stdin, stdout, stderr: /dev/null
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%s: %v", command, err)
	}
	return float64(elapsed.Microseconds()) / 1000, nil
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchpair:", err)
	os.Exit(1)
}
