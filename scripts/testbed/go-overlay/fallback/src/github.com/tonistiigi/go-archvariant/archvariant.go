// Package archvariant is a substitute used only when Debian's package cannot be had: it names
// the x86-64 micro-architecture level from the CPU flags the kernel reports.
package archvariant

import (
	"os"
	"strings"
)

var levels = []struct {
	name  string
	flags []string
}{
	{"v2", []string{"cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"}},
	{"v3", []string{"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}},
	{"v4", []string{"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}},
}

// AMD64Variant returns "v1" to "v4".
func AMD64Variant() string {
	have := cpuFlags()
	variant := "v1"
	for _, l := range levels {
		for _, f := range l.flags {
			if !have[f] {
				return variant
			}
		}
		variant = l.name
	}
	return variant
}

func cpuFlags() map[string]bool {
	flags := map[string]bool{}
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return flags
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "flags" {
			for _, f := range strings.Fields(v) {
				flags[f] = true
			}
			break
		}
	}
	return flags
}
