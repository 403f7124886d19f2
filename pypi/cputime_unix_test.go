//go:build unix

package pypi

import "syscall"

// processCPU returns the CPU time (user+system) used by the process so far,
// in seconds; benchmarks report throughput per CPU second because wall
// time is unreliable on a shared machine.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
