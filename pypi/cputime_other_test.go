//go:build !unix

package pypi

// processCPU is not available here; benchmarks then report no CPU metric.
func processCPU() float64 { return 0 }
